--[[
  Records, atomically, the end of a batch of runs of one partition. A run is recorded only while
  its fencing token still owns an unexpired lease; otherwise it is left untouched (a late
  completion after a lost lease is rejected, and whoever claims the expired lease re-runs that
  fire time). Outcomes:
  - succeeded / failed / skipped: the run ends; the schedule is re-armed at the next fire time the
    pod computed, unless a change during the run re-armed it already (revision differs and the
    stored next fire time is no longer the run's: that stands); `skipped` fire times are added to
    its count. A detached run record ('<schedule member>:r:<fire ms>', overlap 'allow') is deleted
    instead (and its fire time leaves the schedule's run set), its schedule being armed already,
    and the outcome is recorded on the schedule. A triggered run's record ('<schedule member>:r:n<number>')
    ends the same way; if it is the schedule's latest trigger (field 'tg'), that field goes and a
    schedule holding no run (and not a finished one-off, 'fx') is armed again at its stored due time (its fire times waited for it:
    claimDue).
    With chain 'c', a next fire time due within ARGV[4] ms (or due already) of a schedule left as
    it was claimed is claimed for the same pod at once, as claimDue would (attempt 1, a new
    fencing token, the lease from its due time, or from now), saving the claim; confirmRuns
    starts it when it is due. With chain 'w' (the
    schedule is another pod's to reserve), the call ends with one wake message per due index on
    ARGV[5] ('<due index key> <earliest due ms>'), so that pod claims it in time. With chain 'p'
    the pod could not compute the schedule's fire times: the schedule is parked (paused, with
    'pk' = '<now ms>:<error message>', and out of its due index) instead of re-armed; resume or
    upsert clears it. With chain 'f' the schedule has no fire time after this one (a one-off
    task): unless a change during the run re-armed it, it is finished instead of re-armed: 'fx' =
    now, out of its due index, out of its tenant's schedule SET (it stops counting toward the
    quota), and the hash and its history expire after the run's next due field, which holds how
    long to keep it (ms, keepFinishedMs) for this chain.
  - retry: the run stays recorded for the same fire time, unowned (fence 0), and becomes due again
    at ARGV next due, when claimDue re-claims it with attempt + 1. It survives any pod dying.
  Otherwise the run state field goes back to the exactly-once mark alone (includes/runState.lua).
  A non-empty dead letter is pushed on the partition's dead-letter list, trimmed to ARGV[1].
  Every recorded run (not skipped fire times) moves its schedule's counters on, in the hash writes
  the run makes anyway: 'cr' runs recorded (the run's sequence number) and, for 'failed' and
  'retry', 'cf' failed runs. With ARGV[2] > 0 the run is also written to its schedule's history,
  a ring of ARGV[2] slots (one HSET, no trim: slot = (sequence - 1) mod ARGV[2]):
  '<sequence>,<fire ms>,<attempt>,<fencing token>,<outcome>,<started ms>,<ended ms>,<pod id>,<error>'
  then, when the run has a result or its error holds a line break, a last line with the result
  ('\n<result JSON>', '' for none): an entry without it reads as before (no result).

  KEYS[1] partition base (string, hash-tagged); derives (includes/keys.lua) the HASH
          scheduleHash(KEYS[1], member), a run record's schedule HASH scheduleHash(KEYS[1],
          <schedule member>) and its run SET detachedRuns(KEYS[1], <schedule member>), the due
          index ZSET dueIndex(KEYS[1], <the hash's handler field>), the dead-letter LIST
          deadLetters(KEYS[1]), the history HASH history(KEYS[1], <schedule member>), the tenant's
          schedule SET tenantSet(KEYS[1], <tenant of a 't:<tenant>:<id>' member>) and its finished
          one-offs SET tenantFinished(KEYS[1], <tenant>), the fencing
          counter STRING fenceCounter(KEYS[1]) and the change epoch STRING epochCounter(KEYS[1])
  ARGV[1] most dead letters kept (integer)
  ARGV[2] most history entries kept per schedule (integer, 0 = no history)
  ARGV[3] lease (ms) of a chained reservation, counted from its due time
  ARGV[4] look-ahead (ms): the most a chained reservation may be ahead of its due time
  ARGV[5] wake channel (pub/sub channel name, not a key)
  ARGV[6] pod id of the caller (text without ','), written to the history
  ARGV[7] number of runs n; then n × 3 fields: the run, error message ('' if none), dead letter
          (JSON, '' if none). The run is one string of 9 lines, or 10 with a result (one
          argument costs the caller less than ten): member, fencing token, outcome ('succeeded' |
          'failed' | 'skipped' | 'retry'), revision seen at claim, next fire ms, next due ms (for retry: when the retry
          is due), fire times skipped (integer), chain ('c' reserve the next fire time, 'w' wake
          the other pods for it, 'p' park the schedule, 'f' finish it, '' neither), started at ms
          (pod's estimate of Redis time; 0 when no handler ran), then, optional, the run's result
          (JSON on one line, at most 1 kB; absent or '' for none), written to the history

  Returns { now ms, change epoch, then n × 3 values: code (1 recorded, -4 LEASE_LOST: the token
          no longer owns the run, or the schedule was removed, -5 LEASE_EXPIRED: the lease ran
          out before completion), the fencing token of the chained reservation (0 if none) and
          the run's sequence number ('cr' after it; 0 if not recorded, or for skipped fire times) }
  Time: redis.call('TIME')
]]
local rcall = redis.call
--- @include "includes/nowMs.lua"
--- @include "includes/keys.lua"
--- @include "includes/runState.lua"
--- @include "includes/runRecords.lua"

local base = KEYS[1]

-- A triggered run ended: the schedule's series no longer waits for it (claimDue held its fire
-- times back while the schedule's field 'tg' named it); a schedule holding no run is armed again
-- at its stored due time, so that a fire time held back is claimed at once.
local function releaseSeries(parentKey, parent, id, dueKey)
  local p = rcall('HMGET', parentKey, 'tg', 'r', 'nf', 'nd', 'en', 'fx')
  if p[1] ~= id then return end
  rcall('HDEL', parentKey, 'tg')
  if p[5] ~= '0' and not p[6] and p[3] and not parseRun(p[2]) then rcall('ZADD', dueKey, dueOf(p[3], p[4]), parent) end
end

local deadLimit = tonumber(ARGV[1])
local historyLimit = tonumber(ARGV[2])
local chainLeaseMs = tonumber(ARGV[3])
local channel, podId = ARGV[5], ARGV[6]
local n = tonumber(ARGV[7])
local now = nowMs()
local nowText = tostring(now)
local chainHorizon = now + tonumber(ARGV[4])
local deadKey = deadLetters(base)
local out = { now, tonumber(rcall('GET', epochCounter(base)) or '0') }
local arm, wake = {}, {}
for r = 0, n - 1 do
  local a = 8 + r * 3
  local code, chained = 1, 0
  local member, token, outcome, revision, nextFire, nextDue, skipped, chain, started, result =
    string.match(ARGV[a], '^([^\n]+)\n(%d+)\n(%a+)\n(%d+)\n(%d+)\n([%d.]+)\n(%d+)\n(%a?)\n(%d+)\n?(.*)$')
  local message, deadLetter = ARGV[a + 1], ARGV[a + 2]
  local hashKey = scheduleHash(base, member)
  local parent, recordFire = runRecordParent(member)
  local f
  if parent then
    f = rcall('HMGET', hashKey, 'r', 'gn', 'h')
    local live = rcall('HGET', scheduleHash(base, parent), 'gn')
    if not live or live ~= f[2] then
      rcall('DEL', hashKey)
      if f[3] then rcall('ZREM', dueIndex(base, f[3]), member) end
      f = nil
    end
  else
    f = rcall('HMGET', hashKey, 'r', 'rv', 'h', 'en', 'nf', 'nd', 'lm', 'cr', 'cf')
  end
  local fire, attempt, fence, lease, prevHw, fireText, keep
  local seq = 0
  if f then fire, attempt, fence, lease, prevHw, fireText = parseRun(f[1]) end
  if not fire or fence ~= tonumber(token) then
    code = -4
  elseif lease < now then
    code = -5
  else
    local dueKey = dueIndex(base, f[3])
    skipped = tonumber(skipped)
    -- the run's sequence number and failure count ('cr', 'cf'), written with the hash below
    local failures, failed = 0, outcome == 'failed' or outcome == 'retry'
    if outcome ~= 'skipped' and not parent then
      seq, failures = tonumber(f[8] or '0') + 1, tonumber(f[9] or '0')
      if failed then failures = failures + 1 end
    end
    if outcome == 'retry' and parent then
      -- a run record's attempt is counted in its schedule's hash, like its end below
      nextDue = math.floor(tonumber(nextDue))
      local parentKey = scheduleHash(base, parent)
      seq = rcall('HINCRBY', parentKey, 'cr', 1)
      rcall('HINCRBY', parentKey, 'cf', 1)
      rcall('HSET', hashKey, 'r', formatRun(fireText, attempt, 0, nextDue, prevHw), 'lm', message)
      rcall('ZADD', dueKey, nextDue, member)
    elseif outcome == 'retry' then
      nextDue = math.floor(tonumber(nextDue))
      rcall('HSET', hashKey, 'r', formatRun(fireText, attempt, 0, nextDue, prevHw), 'lm', message,
        'cr', seq, 'cf', failures)
      rcall('ZADD', dueKey, nextDue, member)
    elseif parent then
      local parentKey = scheduleHash(base, parent)
      rcall('DEL', hashKey)
      rcall('ZREM', dueKey, member)
      rcall('SREM', detachedRuns(base, parent), recordFire)
      if outcome ~= 'skipped' then seq = rcall('HINCRBY', parentKey, 'cr', 1) end
      if failed then rcall('HINCRBY', parentKey, 'cf', 1) end
      rcall('HSET', parentKey, 'l', outcome .. ':' .. fireText .. ':' .. nowText, 'lm', message)
      if string.sub(recordFire, 1, 1) == 'n' then releaseSeries(parentKey, parent, recordFire, dueKey) end
    elseif chain == 'f' and (f[2] == revision or not f[5] or f[5] == fireText) then
      keep = tonumber(nextDue)
      local sets = { 'r', markOfRun(fire, attempt, prevHw, fireText), 'fx', nowText }
      if outcome ~= 'skipped' then
        sets[#sets + 1], sets[#sets + 2] = 'l', outcome .. ':' .. fireText .. ':' .. nowText
        sets[#sets + 1], sets[#sets + 2] = 'lm', message
        sets[#sets + 1], sets[#sets + 2] = 'cr', seq
        if failed then sets[#sets + 1], sets[#sets + 2] = 'cf', failures end
      end
      rcall('HSET', hashKey, unpack(sets))
      rcall('ZREM', dueKey, member)
      local tenant, id = string.match(member, '^t:([^:]+):(.+)$')
      if tenant then
        -- out of the quota; kept findable for removeTenant until the last finished one expires
        rcall('SREM', tenantSet(base, tenant), id)
        local finishedKey = tenantFinished(base, tenant)
        rcall('SADD', finishedKey, id)
        rcall('PEXPIRE', finishedKey, keep)
      end
      rcall('PEXPIRE', hashKey, keep)
    else
      local unchanged = f[2] == revision
      if not unchanged and f[5] and f[5] ~= fireText then nextFire, nextDue = f[5], f[6] or '' end
      if nextDue == nextFire then nextDue = '' end
      local mark = markOfRun(fire, attempt, prevHw, fireText)
      local score = dueOf(nextFire, nextDue)
      local state = mark
      if chain == 'c' and unchanged and f[4] ~= '0' and outcome ~= 'skipped'
        and tonumber(score) <= chainHorizon
        and (mark == '' or tonumber(nextFire) > tonumber(mark)) then
        chained = rcall('INCR', fenceCounter(base))
        score = tostring(math.max(tonumber(score), now) + chainLeaseMs)
        state = nextFire .. ':1:' .. chained .. ':' .. score .. ':' .. mark
      end
      local sets = { 'r', state, 'nf', nextFire }
      if nextDue ~= '' or (f[6] and f[6] ~= '') then sets[#sets + 1], sets[#sets + 2] = 'nd', nextDue end
      local park = chain == 'p'
      if park then
        sets[#sets + 1], sets[#sets + 2] = 'en', '0'
        sets[#sets + 1], sets[#sets + 2] = 'pk', nowText .. ':' .. message
      end
      if outcome ~= 'skipped' then
        sets[#sets + 1], sets[#sets + 2] = 'l', outcome .. ':' .. fireText .. ':' .. nowText
        if message ~= '' or (f[7] and f[7] ~= '') then sets[#sets + 1], sets[#sets + 2] = 'lm', message end
        sets[#sets + 1], sets[#sets + 2] = 'cr', seq
        if failed then sets[#sets + 1], sets[#sets + 2] = 'cf', failures end
      end
      rcall('HSET', hashKey, unpack(sets))
      if f[4] == '0' or park then
        rcall('ZREM', dueKey, member)
      else
        local list = arm[dueKey]
        if not list then
          list = {}
          arm[dueKey] = list
        end
        list[#list + 1] = score
        list[#list + 1] = member
        if chain == 'w' and (not wake[dueKey] or tonumber(score) < wake[dueKey]) then
          wake[dueKey] = tonumber(score)
        end
      end
    end
    if skipped > 0 then rcall('HINCRBY', parent and scheduleHash(base, parent) or hashKey, 'sk', skipped) end
    if historyLimit > 0 and outcome ~= 'skipped' then
      local entry = seq .. ',' .. fireText .. ',' .. attempt .. ',' .. fence .. ',' .. outcome .. ','
        .. started .. ',' .. nowText .. ',' .. podId .. ',' .. message
      -- the result's line; also after an error with a line break (its last line is not a result)
      if result ~= '' or string.find(message, '\n', 1, true) then entry = entry .. '\n' .. result end
      rcall('HSET', history(base, parent or member), (seq - 1) % historyLimit, entry)
    end
    if keep then rcall('PEXPIRE', history(base, member), keep) end
    if deadLetter ~= '' then
      rcall('LPUSH', deadKey, deadLetter)
      rcall('LTRIM', deadKey, 0, deadLimit - 1)
    end
  end
  out[#out + 1] = code
  out[#out + 1] = chained
  out[#out + 1] = seq
end
for dueKey, list in pairs(arm) do zaddPairs(dueKey, list) end
for dueKey, due in pairs(wake) do rcall('PUBLISH', channel, dueKey .. ' ' .. due) end
return out
