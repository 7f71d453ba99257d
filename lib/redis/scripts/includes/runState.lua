-- A schedule's run state is one hash field 'r': '<fire ms>:<attempt>:<fence>:<lease ms>:<hw before>'
-- ('' or absent: no run). The fence is the claim's fencing token and also its owner token; fence 0
-- is a retry waiting unowned until the lease field's time; attempt 0 is a stale guard (a claim
-- that only re-arms). '<hw before>' is the high-water mark before the claim ('' if none), put
-- back when a first attempt is handed back unstarted.
local function parseRun(r)
  if not r or r == '' then return nil end
  local fire, attempt, fence, lease, prev = string.match(r, '^(%d+):(%d+):(%d+):(%d+):(%d*)$')
  return tonumber(fire), tonumber(attempt), tonumber(fence), tonumber(lease), prev
end

local function formatRun(fire, attempt, fence, lease, prev)
  return fire .. ':' .. attempt .. ':' .. fence .. ':' .. lease .. ':' .. prev
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
