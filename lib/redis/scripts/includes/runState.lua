-- A schedule's run state and exactly-once mark share one hash field 'r':
--   absent                                    never claimed
--   '<hw>'                                    no run held; hw = the greatest fire time ever claimed
--   '<fire>:<attempt>:<fence>:<lease>:<prev>' a run held: its fire time, attempt, fencing token
--                                             (also the owner token), lease expiry (ms) and the mark
--                                             before the claim ('' if none)
-- Fence 0 is a retry waiting unowned until the lease field's time; attempt 0 is a stale guard (a
-- claim that only re-arms, of a fire time at or below the mark). The mark of a held run is the
-- greater of its fire time and <prev>.
-- Returns fire, attempt, fence, lease (numbers), the mark before the claim and the fire time as
-- stored (strings), or nil when no run is held. Scripts keep numbers they got as strings as
-- strings: formatting a Lua number costs more than the command that stores it.
local function parseRun(r)
  if not r or r == '' then return nil end
  local fire, attempt, fence, lease, prev = string.match(r, '^(%d+):(%d+):(%d+):(%d+):(%d*)$')
  if not fire then return nil end
  return tonumber(fire), tonumber(attempt), tonumber(fence), tonumber(lease), prev, fire
end

local function formatRun(fire, attempt, fence, lease, prev)
  return fire .. ':' .. attempt .. ':' .. fence .. ':' .. lease .. ':' .. prev
end

-- The exactly-once mark ('' when never claimed) of a run state, or of a held run's parsed parts.
local function markOf(r)
  if not r or r == '' then return '' end
  local fire, attempt, _, _, prev, fireText = parseRun(r)
  if not fire then return r end
  if attempt == 0 or (prev ~= '' and tonumber(prev) > fire) then return prev end
  return fireText
end

local function markOfRun(fire, attempt, prev, fireText)
  if attempt == 0 or (prev ~= '' and tonumber(prev) > fire) then return prev end
  return fireText
end

-- The due time stored with a schedule: 'nd' when set, else the next fire time itself.
local function dueOf(nextFire, nextDue)
  if nextDue and nextDue ~= '' then return nextDue end
  return nextFire
end

-- Adds score/member pairs to a sorted set in chunks (Lua's unpack has a stack limit).
local function zaddPairs(key, pairs, flag)
  for i = 1, #pairs, 400 do
    local chunk = { unpack(pairs, i, math.min(i + 399, #pairs)) }
    if flag then rcall('ZADD', key, flag, unpack(chunk)) else rcall('ZADD', key, unpack(chunk)) end
  end
end
