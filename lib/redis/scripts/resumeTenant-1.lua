--[[
  Resumes a paused tenant atomically: each of its schedules goes back to its own state ('tp'):
  one enabled is armed at the next fire time the caller computed from Redis time and the timing it
  read, un-parked if a run parked it meanwhile (fire times missed while paused are skipped, as
  resume() does; a schedule holding a run state is re-armed by that run's end instead, and the
  change epoch moves on), one paused by itself stays paused; the tenant's pause STRING is deleted. Sleeping workers are woken ('<due
  index key> <due ms>' on ARGV[2]). Nothing is written when a schedule to arm is missing from the
  call or its timing is no longer the one sent (a concurrent upsert): the caller reads again and
  retries. A tenant that is not paused is left alone.

  KEYS[1] partition base (string, hash-tagged); derives (includes/keys.lua) the tenant's schedule
          SET tenantSet(KEYS[1], ARGV[1]), each schedule HASH scheduleHash(KEYS[1], 't:<tenant>:<id>'),
          its due index ZSET dueIndex(KEYS[1], <the hash's handler field>), the tenant's pause
          STRING tenantPause(KEYS[1], ARGV[1]), the tenant index ZSET tenantIndex(KEYS[1]) and the
          change epoch STRING epochCounter(KEYS[1])
  ARGV[1] tenant id
  ARGV[2] wake channel (pub/sub channel name, not a key)
  ARGV[3] number of schedules n; then n × 4 fields: id, timing the next fire time was computed
          from, next fire ms, next due ms

  Returns { 1, schedules resumed, schedules left paused by themselves }, { 0 } NOT_FOUND (the
          tenant is not paused), or { -6 CHANGED, id of a schedule that changed } (nothing
          written: read again and retry)
  Time: redis.call('TIME')
]]
local rcall = redis.call
--- @include "includes/nowMs.lua"
--- @include "includes/keys.lua"
--- @include "includes/bumpEpoch.lua"
--- @include "includes/runState.lua"

local base, tenant, channel = KEYS[1], ARGV[1], ARGV[2]
local pauseKey = tenantPause(base, tenant)
if rcall('EXISTS', pauseKey) == 0 then return { 0 } end
local planned = {}
for i = 0, tonumber(ARGV[3]) - 1 do
  local a = 4 + i * 4
  planned[ARGV[a]] = { ARGV[a + 1], ARGV[a + 2], ARGV[a + 3] }
end

-- First pass: every schedule to arm must have been planned from its current timing.
local todo = {}
for _, id in ipairs(rcall('SMEMBERS', tenantSet(base, tenant))) do
  local member = 't:' .. tenant .. ':' .. id
  local hashKey = scheduleHash(base, member)
  local f = rcall('HMGET', hashKey, 'h', 'tp', 't', 'r', 'rv', 'nd')
  if f[1] and f[2] then
    local plan = planned[id]
    if f[2] == '1' and (not plan or plan[1] ~= f[3]) then return { -6, id } end
    todo[#todo + 1] = { member, hashKey, f, plan }
  end
end

local now = nowMs()
local resumed, kept, held = 0, 0, false
local earliest = {}
for _, t in ipairs(todo) do
  local member, hashKey, f, plan = t[1], t[2], t[3], t[4]
  local revision = tonumber(f[5] or '0') + 1
  if f[2] == '0' then
    rcall('HSET', hashKey, 'rv', revision, 'ua', now)
    rcall('HDEL', hashKey, 'tp')
    kept = kept + 1
  else
    local nextFire, nextDue = plan[2], plan[3]
    if nextDue == nextFire then
      rcall('HSET', hashKey, 'nf', nextFire, 'rv', revision, 'ua', now)
      rcall('HDEL', hashKey, 'tp', 'en', 'pk', 'nd')
    else
      rcall('HSET', hashKey, 'nf', nextFire, 'nd', nextDue, 'rv', revision, 'ua', now)
      rcall('HDEL', hashKey, 'tp', 'en', 'pk')
    end
    if parseRun(f[4]) then
      held = true
    else
      local dueKey = dueIndex(base, f[1])
      rcall('ZADD', dueKey, nextDue, member)
      if not earliest[dueKey] or tonumber(nextDue) < earliest[dueKey] then
        earliest[dueKey] = tonumber(nextDue)
      end
    end
    resumed = resumed + 1
  end
end
rcall('DEL', pauseKey)
if #todo == 0 and rcall('EXISTS', tenantSet(base, tenant)) == 0 then
  rcall('ZREM', tenantIndex(base), tenant)
end
for dueKey, due in pairs(earliest) do rcall('PUBLISH', channel, dueKey .. ' ' .. due) end
if held then bumpEpoch(base, channel) end
return { 1, resumed, kept }
