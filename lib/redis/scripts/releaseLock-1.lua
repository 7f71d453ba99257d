--[[
  Releases a lock atomically, only for the owner's token.

  KEYS[1] lock STRING (value = owner token)
  ARGV[1] owner token (string)

  Returns 1 released, -4 LEASE_LOST (held by another owner, or already expired)
  Time: redis.call('TIME') is not needed: nothing here depends on the time
]]
local rcall = redis.call
if rcall('GET', KEYS[1]) ~= ARGV[1] then return -4 end
rcall('DEL', KEYS[1])
return 1
