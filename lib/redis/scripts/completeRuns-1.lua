--[[
  Records, atomically, the end of a batch of runs of one partition. A run is recorded only while
  its owner token still holds an unexpired lease; otherwise it is left untouched (a late
  completion after a lost lease is rejected, and whoever claims the expired lease re-runs that
  fire time). Outcomes:
  - succeeded / failed / skipped: the run ends; the schedule is re-armed at the next fire time the
    pod computed, unless its timing changed during the run (timing revision differs: the next
    fire time stored by that change stands); `skipped` fire times are added to its count. A
    detached run record ('<schedule member>:r:<fire ms>', overlap 'allow') is deleted instead, its
    schedule being armed already, and the outcome is recorded on the schedule.
  - retry: the run stays recorded for the same fire time, without owner, and becomes due again
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
  ARGV[3] number of runs n; then n × 9 fields: member, owner token, outcome ('succeeded' |
          'failed' | 'skipped' | 'retry'), timing revision seen at claim, next fire ms, next due ms
          (for retry: when the retry is due), error message ('' if none), fire times skipped
          (integer), dead letter (JSON, '' if none)

  Returns an array of n codes: 1 recorded, -4 LEASE_LOST (token no longer owns the run, or the
          schedule was removed), -5 LEASE_EXPIRED (the lease ran out before completion)
  Time: redis.call('TIME')
]]
local rcall = redis.call
--- @include "includes/nowMs.lua"
--- @include "includes/runRecords.lua"

local base = KEYS[1]
local deadLimit = tonumber(ARGV[1])
local historyLimit = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
local now = nowMs()
local codes = {}
for r = 0, n - 1 do
  local a = 4 + r * 9
  local member, token, outcome = ARGV[a], ARGV[a + 1], ARGV[a + 2]
  local nextFire, nextDue, message = ARGV[a + 4], ARGV[a + 5], ARGV[a + 6]
  local hashKey = base .. 's:' .. member
  local f = rcall('HMGET', hashKey, 'tk', 'lx', 'tr', 'en', 'nf', 'nd', 'h', 'rf', 'sk', 'at', 'fc')
  local parent = runRecordParent(member)
  if parent and not parentAlive(base .. 's:' .. parent, hashKey) then
    rcall('DEL', hashKey)
    if f[7] then rcall('ZREM', base .. 'due:' .. f[7], member) end
    codes[r + 1] = -4
  elseif f[1] ~= token then
    codes[r + 1] = -4
  elseif tonumber(f[2]) < now then
    codes[r + 1] = -5
  else
    local dueKey = base .. 'due:' .. f[7]
    if outcome == 'retry' then
      rcall('HSET', hashKey, 'tk', '', 'lx', nextDue, 'lm', message,
        'sk', tonumber(f[9] or '0') + tonumber(ARGV[a + 7]))
      rcall('ZADD', dueKey, nextDue, member)
    elseif parent then
      rcall('DEL', hashKey)
      rcall('ZREM', dueKey, member)
      rcall('HSET', base .. 's:' .. parent, 'ls', outcome, 'lf', f[8], 'lr', now, 'lm', message)
    else
      if f[3] ~= ARGV[a + 3] then nextFire, nextDue = f[5], f[6] end
      local skipped = tonumber(f[9] or '0') + tonumber(ARGV[a + 7])
      if outcome == 'skipped' then
        rcall('HSET', hashKey, 'rf', '', 'tk', '', 'lx', '', 'nf', nextFire, 'nd', nextDue, 'sk', skipped)
      else
        rcall('HSET', hashKey, 'rf', '', 'tk', '', 'lx', '', 'nf', nextFire, 'nd', nextDue, 'sk', skipped,
          'ls', outcome, 'lf', f[8], 'lr', now, 'lm', message)
      end
      if f[4] == '1' then
        rcall('ZADD', dueKey, nextDue, member)
      else
        rcall('ZREM', dueKey, member)
      end
    end
    if historyLimit > 0 and outcome ~= 'skipped' then
      local historyKey = base .. 'hist:' .. (parent or member)
      rcall('LPUSH', historyKey, f[8] .. ',' .. f[10] .. ',' .. f[11] .. ',' .. outcome .. ',' .. now)
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
return codes
