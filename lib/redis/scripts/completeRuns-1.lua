--[[
  Records, atomically, the end of a batch of runs of one partition. A run is recorded only while
  its fencing token still owns an unexpired lease; otherwise it is left untouched (a late
  completion after a lost lease is rejected, and whoever claims the expired lease re-runs that
  fire time). Outcomes:
  - succeeded / failed / skipped: the run ends; the schedule is re-armed at the next fire time the
    pod computed, unless a change during the run re-armed it already (revision differs and the
    stored next fire time is no longer the run's: that stands); `skipped` fire times are added to
    its count. A detached run record ('<schedule member>:r:<fire ms>', overlap 'allow') is deleted
    instead, its schedule being armed already, and the outcome is recorded on the schedule.
  - retry: the run stays recorded for the same fire time, unowned (fence 0), and becomes due again
    at ARGV next due, when claimDue re-claims it with attempt + 1. It survives any pod dying.
  A non-empty dead letter is pushed on the partition's dead-letter list, trimmed to ARGV[1]. With
  ARGV[2] > 0, every recorded run (not skipped fire times) is pushed on its schedule's history,
  trimmed to ARGV[2]: '<fire ms>,<attempt>,<fencing token>,<outcome>,<ended at ms>'.

  KEYS[1] partition base (string, hash-tagged); derives the HASH KEYS[1] .. 's:' .. member, a run
          record's schedule HASH KEYS[1] .. 's:' .. <schedule member>, the due index ZSET
          KEYS[1] .. 'due:' .. <the hash's handler field>, the dead-letter LIST KEYS[1] .. 'dead' and
          the history LIST KEYS[1] .. 'hist:' .. <schedule member>
  ARGV[1] most dead letters kept (integer)
  ARGV[2] most history entries kept per schedule (integer, 0 = no history)
  ARGV[3] number of runs n; then n × 9 fields: member, fencing token, outcome ('succeeded' |
          'failed' | 'skipped' | 'retry'), revision seen at claim, next fire ms, next due ms (for
          retry: when the retry is due), error message ('' if none), fire times skipped (integer),
          dead letter (JSON, '' if none)

  Returns an array of n codes: 1 recorded, -4 LEASE_LOST (the token no longer owns the run, or the
          schedule was removed), -5 LEASE_EXPIRED (the lease ran out before completion)
  Time: redis.call('TIME')
]]
local rcall = redis.call
--- @include "includes/nowMs.lua"
--- @include "includes/runState.lua"
--- @include "includes/runRecords.lua"

local base = KEYS[1]
local deadLimit = tonumber(ARGV[1])
local historyLimit = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
local now = nowMs()
local codes = {}
local arm = {}
for r = 0, n - 1 do
  local a = 4 + r * 9
  local member, outcome, message = ARGV[a], ARGV[a + 2], ARGV[a + 6]
  local nextFire, nextDue = ARGV[a + 4], ARGV[a + 5]
  local hashKey = base .. 's:' .. member
  local parent = runRecordParent(member)
  local f
  if parent then
    f = rcall('HMGET', hashKey, 'r', 'gn', 'h')
    local live = rcall('HGET', base .. 's:' .. parent, 'gn')
    if not live or live ~= f[2] then
      rcall('DEL', hashKey)
      if f[3] then rcall('ZREM', base .. 'due:' .. f[3], member) end
      f = nil
    end
  else
    f = rcall('HMGET', hashKey, 'r', 'rv', 'h', 'en', 'nf', 'nd', 'sk')
  end
  local fire, attempt, fence, lease, prevHw
  if f then fire, attempt, fence, lease, prevHw = parseRun(f[1]) end
  if not fire or fence ~= tonumber(ARGV[a + 1]) then
    codes[r + 1] = -4
  elseif lease < now then
    codes[r + 1] = -5
  else
    local dueKey = base .. 'due:' .. f[3]
    local skipped = tonumber(ARGV[a + 7])
    if outcome == 'retry' then
      nextDue = math.floor(tonumber(nextDue))
      rcall('HSET', hashKey, 'r', formatRun(fire, attempt, 0, nextDue, prevHw), 'lm', message)
      if skipped > 0 then rcall('HINCRBY', hashKey, 'sk', skipped) end
      rcall('ZADD', dueKey, nextDue, member)
    elseif parent then
      rcall('DEL', hashKey)
      rcall('ZREM', dueKey, member)
      rcall('HSET', base .. 's:' .. parent, 'l', outcome .. ':' .. fire .. ':' .. now, 'lm', message)
    else
      if f[2] ~= ARGV[a + 3] and f[5] and tonumber(f[5]) ~= fire then nextFire, nextDue = f[5], f[6] or '' end
      if nextDue == nextFire then nextDue = '' end
      local sk = tonumber(f[7] or '0') + skipped
      if outcome == 'skipped' then
        rcall('HSET', hashKey, 'r', '', 'nf', nextFire, 'nd', nextDue, 'sk', sk)
      else
        rcall('HSET', hashKey, 'r', '', 'nf', nextFire, 'nd', nextDue, 'sk', sk,
          'l', outcome .. ':' .. fire .. ':' .. now, 'lm', message)
      end
      if f[4] == '0' then
        rcall('ZREM', dueKey, member)
      else
        local list = arm[dueKey]
        if not list then
          list = {}
          arm[dueKey] = list
        end
        list[#list + 1] = dueOf(nextFire, nextDue)
        list[#list + 1] = member
      end
    end
    if historyLimit > 0 and outcome ~= 'skipped' then
      local historyKey = base .. 'hist:' .. (parent or member)
      rcall('LPUSH', historyKey, fire .. ',' .. attempt .. ',' .. fence .. ',' .. outcome .. ',' .. now)
      rcall('LTRIM', historyKey, 0, historyLimit - 1)
    end
    local deadLetter = ARGV[a + 8]
    if deadLetter ~= '' then
      rcall('LPUSH', base .. 'dead', deadLetter)
      rcall('LTRIM', base .. 'dead', 0, deadLimit - 1)
    end
    codes[r + 1] = 1
  end
end
for dueKey, list in pairs(arm) do zaddPairs(dueKey, list) end
return codes
