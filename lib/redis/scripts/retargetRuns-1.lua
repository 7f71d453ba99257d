--[[
  For the misfire policy: moves, atomically, each claimed first attempt to a later fire time of
  the same schedule (the latest missed one), so the pod runs that one now instead of re-arming and
  re-claiming: under sustained overload a claim is always late, and re-arming would never run
  anything. Only the owner of an unexpired lease can retarget, and only forward; the exactly-once
  mark (the run's fire time) and the stored next fire time follow, so the fire times passed over
  can never run.

  KEYS[1] partition base (string, hash-tagged); derives (includes/keys.lua) the schedule HASH
          scheduleHash(KEYS[1], member)
  ARGV[1] number of runs n; then n × 4 fields: member, fencing token, new fire ms, its due ms

  Returns an array of n codes: 1 retargeted, -4 LEASE_LOST (the token no longer owns the run, or
          the schedule was removed), -5 LEASE_EXPIRED (the lease ran out first), -7 TOO_EARLY
          (the new fire time is not due yet by Redis TIME: nothing written)
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
  local a = 2 + r * 4
  local hashKey = scheduleHash(base, ARGV[a])
  local f = rcall('HMGET', hashKey, 'r')
  local fire, attempt, fence, lease, prevHw = parseRun(f[1])
  local target = tonumber(ARGV[a + 2])
  if not fire or fence ~= tonumber(ARGV[a + 1]) then
    codes[r + 1] = -4
  elseif lease < now then
    codes[r + 1] = -5
  elseif tonumber(ARGV[a + 3]) > now then
    codes[r + 1] = -7
  else
    if target > fire then
      local due = ARGV[a + 3]
      if tonumber(due) == target then due = '' end
      rcall('HSET', hashKey, 'r', formatRun(target, attempt, fence, lease, prevHw), 'nf', target, 'nd', due)
    end
    codes[r + 1] = 1
  end
end
return codes
