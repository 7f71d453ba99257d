--[[
  For overlap 'allow': moves, atomically, each run from its schedule into a run record of its own
  ('<schedule member>:r:<fire ms>', same owner token, lease, attempt and fencing token, listed in
  the same due index with its lease expiry as score, and the schedule's incarnation `gn`) and re-arms the schedule at once at the next
  fire time the pod computed (unless its timing changed since the claim), so the next fire time
  starts on time even while this run goes on. Only the owner of an unexpired lease can detach.

  KEYS[1] partition base (string, hash-tagged); derives the schedule HASH KEYS[1] .. 's:' .. member,
          the run record HASH KEYS[1] .. 's:' .. member .. ':r:' .. <fire ms> and the due index ZSET
          KEYS[1] .. 'due:' .. <the hash's handler field>
  ARGV[1] number of runs n; then n × 5 fields: member, owner token, timing revision seen at claim,
          next fire ms, next due ms

  Returns an array of n codes: 1 detached, -4 LEASE_LOST (token no longer owns the run, or the
          schedule was removed), -5 LEASE_EXPIRED (the lease ran out first)
  Time: redis.call('TIME')
]]
local rcall = redis.call
--- @include "includes/nowMs.lua"

local base = KEYS[1]
local n = tonumber(ARGV[1])
local now = nowMs()
local codes = {}
for r = 0, n - 1 do
  local a = 2 + r * 5
  local member = ARGV[a]
  local hashKey = base .. 's:' .. member
  local f = rcall('HMGET', hashKey, 'tk', 'lx', 'tr', 'en', 'nf', 'nd', 'h', 'rf', 'at', 'fc', 'gn')
  if f[1] ~= ARGV[a + 1] then
    codes[r + 1] = -4
  elseif tonumber(f[2]) < now then
    codes[r + 1] = -5
  else
    local dueKey = base .. 'due:' .. f[7]
    local runMember = member .. ':r:' .. f[8]
    rcall('HSET', base .. 's:' .. runMember, 'rf', f[8], 'at', f[9], 'tk', f[1], 'lx', f[2], 'fc', f[10], 'h', f[7],
      'gn', f[11] or '0')
    rcall('ZADD', dueKey, f[2], runMember)
    local nextFire, nextDue = ARGV[a + 3], ARGV[a + 4]
    if f[3] ~= ARGV[a + 2] then nextFire, nextDue = f[5], f[6] end
    rcall('HSET', hashKey, 'rf', '', 'tk', '', 'lx', '', 'nf', nextFire, 'nd', nextDue)
    if f[4] == '1' then
      rcall('ZADD', dueKey, nextDue, member)
    else
      rcall('ZREM', dueKey, member)
    end
    codes[r + 1] = 1
  end
end
return codes
