--[[
  Keeps this pod in the registry of the pods running one handler, atomically: drops pods whose
  heartbeat expired, (re)adds this one until ARGV[2] ms from now (or removes it, with ARGV[2] =
  0, at shutdown), and returns the live pods in order, so that every pod computes the same rank
  for itself and the same count. When the set of pods changed, publishes '<registry key> 0' on
  ARGV[3], so the other pods look again at once instead of at their next heartbeat.

  KEYS[1] registry of one handler (ZSET; member = pod id, score = heartbeat expiry ms)
  ARGV[1] pod id (string)
  ARGV[2] time to live (ms); 0 leaves the registry
  ARGV[3] wake channel (pub/sub channel name, not a key)

  Returns the live pod ids, sorted (this one included unless it left)
  Time: redis.call('TIME')
]]
local rcall = redis.call
--- @include "includes/nowMs.lua"

local now = nowMs()
local changed = rcall('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if tonumber(ARGV[2]) > 0 then
  changed = changed + rcall('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
  rcall('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
else
  changed = changed + rcall('ZREM', KEYS[1], ARGV[1])
end
if changed > 0 then rcall('PUBLISH', ARGV[3], KEYS[1] .. ' 0') end
local pods = rcall('ZRANGE', KEYS[1], 0, -1)
table.sort(pods)
return pods
