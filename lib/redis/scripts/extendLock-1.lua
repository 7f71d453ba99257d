--[[
  Extends a lock atomically, only for the owner's token.

  KEYS[1] lock STRING (value = owner token)
  ARGV[1] owner token (string)
  ARGV[2] new time to live (ms), counted from now

  Returns 1 extended, -4 LEASE_LOST (held by another owner, or expired)
  Time: redis.call('TIME') is not needed: expiry is relative (PEXPIRE)
]]
local rcall = redis.call
if rcall('GET', KEYS[1]) ~= ARGV[1] then return -4 end
rcall('PEXPIRE', KEYS[1], ARGV[2])
return 1
