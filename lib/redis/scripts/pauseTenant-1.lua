--[[
  Pauses every schedule of a tenant atomically (a kill switch), and the tenant itself: each
  schedule keeps its own state in 'tp' ('1' enabled, '0' paused by itself) and is paused ('en'
  '0', revision moved on) and taken out of its due index, unless it holds a run state (a run in
  flight finishes and is not re-armed; a reservation is handed back by confirmRuns, as for
  pause()). When any held a run state the partition's change epoch moves on and is published on
  ARGV[2] ('<epoch key> <epoch>'), so no reservation of the tenant starts after this returns.
  While the tenant's pause STRING exists, upsertSchedules stores the tenant's schedules paused the
  same way. A schedule paused already by the tenant is left alone (idempotent). The cost is one
  pass over the tenant's schedules (bounded by its quota), not over the keyspace.

  KEYS[1] partition base (string, hash-tagged); derives (includes/keys.lua) the tenant's schedule
          SET tenantSet(KEYS[1], ARGV[1]), each schedule HASH scheduleHash(KEYS[1], 't:<tenant>:<id>'),
          its due index ZSET dueIndex(KEYS[1], <the hash's handler field>), the tenant's pause
          STRING tenantPause(KEYS[1], ARGV[1]), the tenant index ZSET tenantIndex(KEYS[1]) and the
          change epoch STRING epochCounter(KEYS[1])
  ARGV[1] tenant id
  ARGV[2] wake channel (pub/sub channel name, not a key)

  Returns { schedules paused by this call, schedules of the tenant }
  Time: redis.call('TIME')
]]
local rcall = redis.call
--- @include "includes/nowMs.lua"
--- @include "includes/keys.lua"
--- @include "includes/bumpEpoch.lua"

local base, tenant = KEYS[1], ARGV[1]
local now = nowMs()
local ids = rcall('SMEMBERS', tenantSet(base, tenant))
local paused, held = 0, false
rcall('SET', tenantPause(base, tenant), now)
rcall('ZADD', tenantIndex(base), 0, tenant)
for _, id in ipairs(ids) do
  local member = 't:' .. tenant .. ':' .. id
  local hashKey = scheduleHash(base, member)
  local f = rcall('HMGET', hashKey, 'h', 'en', 'r', 'tp', 'rv')
  if f[1] and not f[4] then
    local own = f[2] == '0' and '0' or '1'
    rcall('HSET', hashKey, 'tp', own, 'en', '0', 'rv', tonumber(f[5] or '0') + 1, 'ua', now)
    if f[3] and string.find(f[3], ':', 1, true) then
      held = true
    else
      rcall('ZREM', dueIndex(base, f[1]), member)
    end
    paused = paused + 1
  end
end
if held then bumpEpoch(base, ARGV[2]) end
return { paused, #ids }
