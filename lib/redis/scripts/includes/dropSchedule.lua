-- Deletes a dynamic schedule of partition `base`: its hash, due index entry, run history, run SET
-- and detached run records (overlap 'allow': each record's hash and due index entry, found
-- through the run SET, so no due index is scanned). Returns false when there was none; else true
-- and whether it held a run (not the bare exactly-once mark), in which case the caller moves the
-- partition's change epoch on (a reservation may wait for it). Needs keys.lua included first.
local function dropSchedule(base, member)
  local hashKey = scheduleHash(base, member)
  local f = rcall('HMGET', hashKey, 'h', 'r')
  if not f[1] then return false, false end
  rcall('ZREM', dueIndex(base, f[1]), member)
  local runsKey = detachedRuns(base, member)
  for _, fire in ipairs(rcall('SMEMBERS', runsKey)) do
    local record = runRecordMember(member, fire)
    local recordKey = scheduleHash(base, record)
    rcall('ZREM', dueIndex(base, rcall('HGET', recordKey, 'h') or f[1]), record)
    rcall('DEL', recordKey)
  end
  rcall('DEL', hashKey, history(base, member), runsKey)
  return true, f[2] ~= false and string.find(f[2], ':', 1, true) ~= nil
end
