--[[
  Takes a lock atomically if nobody holds it, and issues a fencing token that is larger than
  every token issued for this lock name before.

  KEYS[1] lock STRING (value = owner token), expires after ARGV[2]
  KEYS[2] fencing counter STRING (integer), shares KEYS[1]'s hash tag, never expires
  ARGV[1] owner token (string)
  ARGV[2] time to live (ms)

  Returns the fencing token (integer ≥ 1), or 0 when the lock is held by another owner
  Time: redis.call('TIME') is not needed: expiry is relative (PX)
]]
local rcall = redis.call
if not rcall('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 0 end
return rcall('INCR', KEYS[2])
