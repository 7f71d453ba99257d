--[[
  Confirms, atomically, that reserved runs of one partition (first attempts claimed before they
  were due) may start now: it is their due time by Redis TIME, their leases still hold, and their
  schedules are as they were claimed. Every write that changes a schedule holding a run state
  (upsert, pause, resume, remove) moves the partition's change epoch on, so while the epoch is
  the one the runs were claimed at, they are confirmed without reading a schedule. Otherwise each
  run is checked: a schedule changed or paused since the claim has its reservation handed back
  (run state cleared, high-water mark restored, armed again as the change left it), so the run
  does not start and the current definition is claimed instead.

  KEYS[1] partition base (string, hash-tagged); derives (includes/keys.lua) the change epoch
          STRING epochCounter(KEYS[1]), the HASH scheduleHash(KEYS[1], member) and the due index
          ZSET dueIndex(KEYS[1], <the hash's handler field>)
  ARGV[1] latest due time among the runs (ms): none starts before it
  ARGV[2] oldest change epoch the runs were claimed at (integer)
  ARGV[3] earliest lease expiry among the runs (ms)
  ARGV[4] number of runs n; then n × 3 fields: member, fencing token, revision seen at claim. A
          first call may send n = 0: the runs are needed only when the epoch moved on.

  Returns { 1, now ms, epoch } all confirmed; { -7 TOO_EARLY, now ms } none confirmed, it is not
          yet ARGV[1]; { 3, now ms, epoch } the runs must be checked one by one: call again with
          them; or { 2, now ms, epoch, then n codes: 1 confirmed, -4 LEASE_LOST (another claim owns the run, or
          the schedule was removed), -5 LEASE_EXPIRED, -6 CHANGED (the schedule changed or was
          paused since the claim: the reservation was handed back) }
  Time: redis.call('TIME')
]]
local rcall = redis.call
--- @include "includes/nowMs.lua"
--- @include "includes/keys.lua"
--- @include "includes/runState.lua"
--- @include "includes/cancelRun.lua"

local base = KEYS[1]
local now = nowMs()
if now < tonumber(ARGV[1]) then return { -7, now } end
local epoch = tonumber(rcall('GET', epochCounter(base)) or '0')
if epoch == tonumber(ARGV[2]) and now < tonumber(ARGV[3]) then return { 1, now, epoch } end
local n = tonumber(ARGV[4])
if n == 0 then return { 3, now, epoch } end

local out = { 2, now, epoch }
for i = 0, n - 1 do
  local a = 5 + i * 3
  local member = ARGV[a]
  local hashKey = scheduleHash(base, member)
  local f = rcall('HMGET', hashKey, 'r', 'rv', 'en', 'nf', 'nd', 'h')
  local _, _, fence, lease, prevHw = parseRun(f[1])
  if fence ~= tonumber(ARGV[a + 1]) then
    out[#out + 1] = -4
  elseif lease < now then
    out[#out + 1] = -5
  elseif f[2] ~= ARGV[a + 2] or f[3] == '0' then
    cancelRun(base, hashKey, member, prevHw, f[6], f[3], f[4], f[5])
    out[#out + 1] = -6
  else
    out[#out + 1] = 1
  end
end
return out
