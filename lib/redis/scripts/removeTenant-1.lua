--[[
  Removes every schedule of a tenant atomically, as removeSchedule removes one (hash, due index
  entry, run history, detached run records), finished one-off tasks kept for inspection included,
  then its schedule SET, its finished one-offs SET, its pause and its entry in the tenant index. Once this returns no pod claims any of them again and no reservation of them
  starts (the partition's change epoch moves on when one held a run state, published on ARGV[2]
  as '<epoch key> <epoch>'); a run already started loses its lease at its next renewal. The cost
  is one pass over the tenant's schedules (bounded by its quota).

  KEYS[1] partition base (string, hash-tagged); derives (includes/keys.lua) the tenant's schedule
          SET tenantSet(KEYS[1], ARGV[1]) and finished one-offs SET tenantFinished(KEYS[1], ARGV[1]),
          for each schedule member 't:<tenant>:<id>' what
          includes/dropSchedule.lua deletes, the tenant's pause STRING tenantPause(KEYS[1],
          ARGV[1]), the tenant index ZSET tenantIndex(KEYS[1]) and the change epoch STRING
          epochCounter(KEYS[1])
  ARGV[1] tenant id
  ARGV[2] wake channel (pub/sub channel name, not a key)

  Returns the number of schedules removed (finished one-offs included)
  Time: redis.call('TIME') is not needed: nothing here depends on the time
]]
local rcall = redis.call
--- @include "includes/keys.lua"
--- @include "includes/bumpEpoch.lua"
--- @include "includes/dropSchedule.lua"

local base, tenant = KEYS[1], ARGV[1]
local setKey = tenantSet(base, tenant)
local removed, anyHeld = 0, false
local finishedKey = tenantFinished(base, tenant)
for _, key in ipairs({ setKey, finishedKey }) do
  for _, id in ipairs(rcall('SMEMBERS', key)) do
    local gone, held = dropSchedule(base, 't:' .. tenant .. ':' .. id)
    if gone then removed = removed + 1 end
    if held then anyHeld = true end
  end
end
rcall('DEL', setKey, finishedKey, tenantPause(base, tenant))
rcall('ZREM', tenantIndex(base), tenant)
if anyHeld then bumpEpoch(base, ARGV[2]) end
return removed
