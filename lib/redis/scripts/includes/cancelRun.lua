-- Hands back a first attempt that never started: the run state goes back to the mark before the
-- claim, and the schedule is armed again at its stored next fire time (or leaves its due index
-- while paused), so any pod claims that fire time again as a first attempt. Needs keys.lua and
-- runState.lua included first.
local function cancelRun(base, hashKey, member, prevHw, handlerKey, enabled, nextFire, nextDue)
  if prevHw == '' then rcall('HDEL', hashKey, 'r') else rcall('HSET', hashKey, 'r', prevHw) end
  local dueKey = dueIndex(base, handlerKey)
  if enabled == '0' or not nextFire then
    rcall('ZREM', dueKey, member)
  else
    rcall('ZADD', dueKey, dueOf(nextFire, nextDue), member)
  end
end
