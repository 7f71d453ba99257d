--[[
  For the misfire policy: moves, atomically, each claimed first attempt to a later fire time of
  the same schedule (the latest missed one), so the pod runs that one now instead of re-arming and
  re-claiming: under sustained overload a claim is always late, and re-arming would never run
  anything. Only the owner of an unexpired lease can retarget, and only forward; the high-water
  mark follows, so the fire times passed over can never run.

  KEYS[1] partition base (string, hash-tagged); derives the schedule HASH KEYS[1] .. 's:' .. member
  ARGV[1] number of runs n; then n × 3 fields: member, owner token, new fire ms

  Returns an array of n codes: 1 retargeted, -4 LEASE_LOST (token no longer owns the run, or the
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
  local a = 2 + r * 3
  local hashKey = base .. 's:' .. ARGV[a]
  local f = rcall('HMGET', hashKey, 'tk', 'lx', 'rf', 'hw')
  local fire = tonumber(ARGV[a + 2])
  if f[1] ~= ARGV[a + 1] or not f[3] or f[3] == '' then
    codes[r + 1] = -4
  elseif tonumber(f[2]) < now then
    codes[r + 1] = -5
  else
    if fire > tonumber(f[3]) then
      local highWater = fire
      if f[4] and tonumber(f[4]) > fire then highWater = tonumber(f[4]) end
      rcall('HSET', hashKey, 'rf', fire, 'hw', highWater)
    end
    codes[r + 1] = 1
  end
end
return codes
