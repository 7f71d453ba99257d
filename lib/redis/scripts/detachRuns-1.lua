--[[
  For overlap 'allow': moves, atomically, each run from its schedule into a run record of its own
  ('<schedule member>:r:<fire ms>', same run state: fire time, attempt, fencing token and lease,
  listed in the same due index with its lease expiry as score, with the schedule's incarnation
  `gn`) and re-arms the schedule at once at the next fire time the pod computed (unless a change
  since the claim re-armed it already), so the next fire time starts on time even while this run
  goes on. Only the owner of an unexpired lease can detach.

  KEYS[1] partition base (string, hash-tagged); derives (includes/keys.lua) the schedule HASH
          scheduleHash(KEYS[1], member), the run record HASH scheduleHash(KEYS[1],
          runRecordMember(member, <fire ms>)), the schedule's run SET detachedRuns(KEYS[1], member)
          (the fire ms of its run records, so removeSchedule finds them; created here, with the
          first one) and the due index ZSET dueIndex(KEYS[1], <the hash's handler field>)
  ARGV[1] number of runs n; then n × 5 fields: member, fencing token, revision seen at claim,
          next fire ms, next due ms

  Returns an array of n codes: 1 detached, -4 LEASE_LOST (the token no longer owns the run, or the
          schedule was removed), -5 LEASE_EXPIRED (the lease ran out first)
  Time: redis.call('TIME')
]]
local rcall = redis.call
--- @include "includes/nowMs.lua"
--- @include "includes/keys.lua"
--- @include "includes/runState.lua"

local base = KEYS[1]
local n = tonumber(ARGV[1])
local now = nowMs()
local codes = {}
for r = 0, n - 1 do
  local a = 2 + r * 5
  local member = ARGV[a]
  local hashKey = scheduleHash(base, member)
  local f = rcall('HMGET', hashKey, 'r', 'rv', 'en', 'nf', 'nd', 'h', 'gn')
  local fire, _, fence, lease, _, fireText = parseRun(f[1])
  if not fire or fence ~= tonumber(ARGV[a + 1]) then
    codes[r + 1] = -4
  elseif lease < now then
    codes[r + 1] = -5
  else
    local dueKey = dueIndex(base, f[6])
    local runMember = runRecordMember(member, fireText)
    rcall('HSET', scheduleHash(base, runMember), 'r', f[1], 'h', f[6], 'gn', f[7] or '0')
    rcall('SADD', detachedRuns(base, member), fireText)
    rcall('ZADD', dueKey, lease, runMember)
    local nextFire, nextDue = ARGV[a + 3], ARGV[a + 4]
    if f[2] ~= ARGV[a + 2] and f[4] and tonumber(f[4]) ~= fire then nextFire, nextDue = f[4], f[5] or '' end
    if nextDue == nextFire then nextDue = '' end
    rcall('HSET', hashKey, 'r', markOf(f[1]), 'nf', nextFire, 'nd', nextDue)
    if f[3] == '0' then
      rcall('ZREM', dueKey, member)
    else
      rcall('ZADD', dueKey, dueOf(nextFire, nextDue), member)
    end
    codes[r + 1] = 1
  end
end
return codes
