-- Hands back a first attempt that never started: the run state goes, the high-water mark is put
-- back, and the schedule is armed again at its stored next fire time (or leaves its due index
-- while paused), so any pod claims that fire time again as a first attempt.
local function cancelRun(base, hashKey, member, prevHw, handlerKey, enabled, nextFire, nextDue)
  if prevHw == '' then
    rcall('HSET', hashKey, 'r', '')
    rcall('HDEL', hashKey, 'hw')
  else
    rcall('HSET', hashKey, 'r', '', 'hw', prevHw)
  end
  local dueKey = base .. 'due:' .. handlerKey
  if enabled == '0' or not nextFire then
    rcall('ZREM', dueKey, member)
  else
    rcall('ZADD', dueKey, dueOf(nextFire, nextDue), member)
  end
end
