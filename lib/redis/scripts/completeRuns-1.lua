--[[
  Records, atomically, the end of a batch of runs of one partition and re-arms each schedule.
  A run is recorded only while its owner token still holds an unexpired lease; otherwise it is
  left untouched (a late completion after a lost lease is rejected, and the fire time will be
  re-run by whoever claims the expired lease). The next fire time computed by the pod is used
  unless the schedule's timing changed during the run (timing revision differs), in which case
  the next fire time stored by that change stands.

  KEYS[1] partition base (string, hash-tagged); derives the schedule HASH KEYS[1] .. 's:' .. member
          and the due index ZSET KEYS[1] .. 'due:' .. <the hash's handler field>
  ARGV[1] number of runs n; then n × 7 fields: member, owner token, outcome
          ('succeeded' | 'failed' | 'skipped'), timing revision seen at claim, next fire ms,
          next due ms, error message ('' if none)

  Returns an array of n codes: 1 recorded, -4 LEASE_LOST (token no longer owns the run, or the
          schedule was removed), -5 LEASE_EXPIRED (the lease ran out before completion)
  Time: redis.call('TIME')
]]
local rcall = redis.call
--- @include "includes/nowMs.lua"

local base = KEYS[1]
local n = tonumber(ARGV[1])
local now = nowMs()
local codes = {}
for r = 0, n - 1 do
  local a = 2 + r * 7
  local member = ARGV[a]
  local hashKey = base .. 's:' .. member
  local f = rcall('HMGET', hashKey, 'tk', 'lx', 'tr', 'en', 'nf', 'nd', 'h', 'rf')
  if f[1] ~= ARGV[a + 1] then
    codes[r + 1] = -4
  elseif tonumber(f[2]) < now then
    codes[r + 1] = -5
  else
    local outcome = ARGV[a + 2]
    local nextFire, nextDue = ARGV[a + 4], ARGV[a + 5]
    if f[3] ~= ARGV[a + 3] then nextFire, nextDue = f[5], f[6] end
    if outcome == 'skipped' then
      rcall('HSET', hashKey, 'rf', '', 'tk', '', 'lx', '', 'nf', nextFire, 'nd', nextDue)
    else
      rcall('HSET', hashKey, 'rf', '', 'tk', '', 'lx', '', 'nf', nextFire, 'nd', nextDue,
        'ls', outcome, 'lf', f[8], 'lr', now, 'lm', ARGV[a + 6])
    end
    local dueKey = base .. 'due:' .. f[7]
    if f[4] == '1' then
      rcall('ZADD', dueKey, nextDue, member)
    else
      rcall('ZREM', dueKey, member)
    end
    codes[r + 1] = 1
  end
end
return codes
