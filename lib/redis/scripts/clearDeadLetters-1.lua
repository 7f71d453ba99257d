--[[
  Clears, atomically, a partition's dead letters: all of them, or only one tenant's.

  KEYS[1] dead-letter LIST (entries are JSON objects with a `tenantId` field, absent for static schedules)
  ARGV[1] tenant id, or '' for every entry

  Returns the number of entries removed
  Time: redis.call('TIME') is not needed: nothing here depends on the time
]]
local rcall = redis.call
local all = rcall('LRANGE', KEYS[1], 0, -1)
if ARGV[1] == '' then
  rcall('DEL', KEYS[1])
  return #all
end
local kept = {}
for _, entry in ipairs(all) do
  local ok, decoded = pcall(cjson.decode, entry)
  if not (ok and decoded.tenantId == ARGV[1]) then kept[#kept + 1] = entry end
end
if #kept == #all then return 0 end
rcall('DEL', KEYS[1])
for i = 1, #kept, 500 do
  rcall('RPUSH', KEYS[1], unpack(kept, i, math.min(i + 499, #kept)))
end
return #all - #kept
