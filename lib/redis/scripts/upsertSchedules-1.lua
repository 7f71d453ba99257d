--[[
  Creates or updates a batch of schedules of one partition, each atomically and in order,
  enforcing the tenant guards where it writes: a new dynamic schedule is refused when its tenant
  already owns the most schedules allowed, and a payload over the size limit is refused; nothing
  is written for a refused schedule. A one-off task that finished (completeRuns, 'fx' set) is
  created anew: its hash and history are deleted first (a new incarnation, counted again). The
  next fire time is replaced only when the timing changed
  (handler, cron, zone, jitter, or re-enabling), so an identical upsert is idempotent; the
  revision moves on with any change, and a change to a schedule holding a run state moves the
  partition's change epoch on (so a reservation is checked before it starts: confirmRuns) and
  publishes it on ARGV[3] ('<epoch key> <epoch>', so pods confirm their waiting runs again). A run
  in flight keeps its lease; its completion re-arms the schedule from the new timing. A new handler
  takes the schedule's held run and its detached run records (overlap 'allow') to its due index,
  so the pods that run it re-claim them if their leases run out. For each due index the batch
  armed earlier than anything it held, publishes '<due index key> <due ms>' on ARGV[3], so
  sleeping workers wake. While a schedule's tenant is paused (its pause STRING exists, see
  pauseTenant-1.lua) the schedule is stored paused, its own state in 'tp' for resumeTenant. Every
  tenant written is in the partition's tenant index.

  KEYS[1] partition base (string, hash-tagged); derives (includes/keys.lua) the schedule HASH
          scheduleHash(KEYS[1], member), its run SET detachedRuns(KEYS[1], member) and run record
          HASHes scheduleHash(KEYS[1], runRecordMember(member, <fire ms>)), the due index ZSETs
          dueIndex(KEYS[1], <handler key>) (new and previous, and a run record's handler field),
          the tenant's schedule SET tenantSet(KEYS[1], <tenant of a 't:<tenant>:<id>' member>),
          the history HASH history(KEYS[1], member) (deleted with a finished one-off, which also
          leaves its tenant's SET tenantFinished(KEYS[1], <tenant>)),
          the counter STRING fenceCounter(KEYS[1]) (numbers a new schedule's incarnation `gn`),
          the change epoch STRING epochCounter(KEYS[1]), the tenant's pause STRING
          tenantPause(KEYS[1], <tenant>) and the tenant index ZSET tenantIndex(KEYS[1])
  ARGV[1] most schedules per tenant (integer, 0 = no limit; static 'c:' members have no tenant)
  ARGV[2] most payload bytes (integer, 0 = no limit)
  ARGV[3] wake channel (pub/sub channel name, not a key)
  ARGV[4] number of schedules n; then n × 10 fields: member, id, handler key (due index suffix),
          timing ('<expression>|<zone>|<jitter ms>': a cron with `H` resolved, '@every:<ms>:<anchor
          ms>' or '@at:<ms>'), payload (JSON, '' for
          none), policy (JSON of the schedule's own failure-semantics fields, '' for none), enabled
          ('1' | '0'), next fire ms and next due ms (fire + jitter offset), computed from Redis
          time by the caller, and '<cron as written>|<the timing's cron>' when they differ (the
          written one held `H`; '' else), stored as the field 'cw'; a schedule whose hash holds
          'ps' (paused at runtime, see setEnabled-2.lua) is written with enabled '0'

  Returns { now ms, then n × 9 fields: 1 created | 0 updated, next fire ms, next due ms, created at
            ms, last run ('<outcome>:<fire ms>:<ended ms>' or ''), last error or '', running (1 | 0),
            fire times skipped so far, tenant paused (1 | 0) } where a refused schedule's 9 fields
            are { -1 TENANT_QUOTA_EXCEEDED, schedules owned, ... } or { -2 PAYLOAD_TOO_LARGE,
            bytes, ... }
  Time: redis.call('TIME')
]]
local rcall = redis.call
--- @include "includes/nowMs.lua"
--- @include "includes/keys.lua"
--- @include "includes/bumpEpoch.lua"
--- @include "includes/runState.lua"

local base = KEYS[1]
local maxPerTenant, maxPayload, channel = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local n = tonumber(ARGV[4])
local now = nowMs()
local out = { now }
local arm = {}
local changedRunning = false
-- tenant id -> whether it is paused, read once per tenant of the batch
local pausedTenants = {}

-- Field writes of one schedule: a value goes into `sets`, an empty one deletes a stored field.
local function put(sets, dels, field, value, old)
  if value ~= '' then
    sets[#sets + 1], sets[#sets + 2] = field, value
  elseif old then
    dels[#dels + 1] = field
  end
end

-- Due index entries are written once per index at the end, the last write of a member winning.
local function pending(dueKey)
  local p = arm[dueKey]
  if not p then
    local first = rcall('ZRANGE', dueKey, 0, 0, 'WITHSCORES')
    p = { scores = {}, before = first[2] and tonumber(first[2]), least = nil }
    arm[dueKey] = p
  end
  return p
end

local function unarm(dueKey, member)
  rcall('ZREM', dueKey, member)
  if arm[dueKey] then arm[dueKey].scores[member] = nil end
end

local function refuse(code, detail)
  local o = #out
  out[o + 1], out[o + 2], out[o + 3], out[o + 4] = code, detail, '', ''
  out[o + 5], out[o + 6], out[o + 7], out[o + 8], out[o + 9] = '', '', 0, 0, 0
end

local function tenantPaused(tenant)
  local paused = pausedTenants[tenant]
  if paused == nil then
    paused = rcall('EXISTS', tenantPause(base, tenant)) == 1
    pausedTenants[tenant] = paused
    rcall('ZADD', tenantIndex(base), 0, tenant)
  end
  return paused
end

for i = 0, n - 1 do
  local a = 5 + i * 10
  local member, id, handlerKey, timing = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3]
  local payload, policy, enabled, written = ARGV[a + 4], ARGV[a + 5], ARGV[a + 6], ARGV[a + 9]
  local hashKey = scheduleHash(base, member)
  local tenant = string.match(member, '^t:([^:]+):')
  local tenantKey = tenant and tenantSet(base, tenant)
  local f = rcall('HMGET', hashKey, 'h', 't', 'p', 'po', 'en', 'nf', 'nd', 'rv', 'ca', 'r', 'l', 'lm', 'sk', 'cw', 'pk', 'tp', 'fx', 'ps')
  -- a finished one-off is created anew (deleted below, unless refused): as if it were absent
  local finished = f[17]
  if finished then
    for k = 1, 18 do f[k] = false end
  end
  local exists = f[1] ~= false
  -- paused at runtime (pauseStatic, setEnabled-2.lua): stays paused whatever is declared
  if f[18] then enabled = '0' end
  local owned = (not exists and tenantKey and maxPerTenant > 0) and rcall('SCARD', tenantKey) or 0
  if not exists and tenantKey and maxPerTenant > 0 and owned >= maxPerTenant then
    refuse(-1, owned)
  elseif tenantKey and maxPayload > 0 and #payload > maxPayload then
    refuse(-2, #payload)
  else
    if finished then
      rcall('DEL', hashKey, history(base, member))
      if tenant then rcall('SREM', tenantFinished(base, tenant), id) end
    end
    -- a paused tenant's schedule is stored paused, its own state kept in 'tp'
    local own = ''
    if tenantKey and tenantPaused(tenant) then own, enabled = enabled, '0' end
    local wasEnabled = f[5] ~= '0'
    local timingChanged = not exists or f[1] ~= handlerKey or f[2] ~= timing
      or (enabled == '1' and not wasEnabled)
    local changed = timingChanged or (f[3] or '') ~= payload or (f[4] or '') ~= policy
      or (enabled == '1') ~= wasEnabled or (f[14] or '') ~= written or (f[16] or '') ~= own
    local nextFire, nextDue = f[6], f[7] or ''
    if timingChanged then nextFire, nextDue = ARGV[a + 7], ARGV[a + 8] end
    if nextDue == nextFire then nextDue = '' end
    local revision = tonumber(f[8] or '0')
    if changed then revision = revision + 1 end
    local createdAt = f[9] or now

    -- 'ua' (updated at) is written from the first update on: until then it is 'ca'
    local sets = { 'h', handlerKey, 't', timing, 'nf', nextFire, 'rv', revision }
    if exists then sets[#sets + 1], sets[#sets + 2] = 'ua', now end
    local dels = {}
    put(sets, dels, 'p', payload, f[3])
    put(sets, dels, 'po', policy, f[4])
    put(sets, dels, 'cw', written, f[14])
    put(sets, dels, 'en', enabled == '0' and '0' or '', f[5])
    -- an upsert un-parks a schedule completeRuns parked (chain 'p')
    put(sets, dels, 'pk', '', f[15])
    put(sets, dels, 'tp', own, f[16])
    put(sets, dels, 'nd', nextDue, f[7])
    if not exists then
      sets[#sets + 1], sets[#sets + 2] = 'ca', now
      sets[#sets + 1], sets[#sets + 2] = 'gn', rcall('INCR', fenceCounter(base))
      if tenantKey then rcall('SADD', tenantKey, id) end
    end
    rcall('HSET', hashKey, unpack(sets))
    if #dels > 0 then rcall('HDEL', hashKey, unpack(dels)) end

    local rfire, rattempt, rfence, rlease = parseRun(f[10])
    local holding = rfire ~= nil
    if holding and changed then changedRunning = true end
    local dueKey = dueIndex(base, handlerKey)
    if exists and f[1] ~= handlerKey then
      unarm(dueIndex(base, f[1]), member)
      if holding then rcall('ZADD', dueKey, rlease, member) end
      for _, fire in ipairs(rcall('SMEMBERS', detachedRuns(base, member))) do
        local record = runRecordMember(member, fire)
        local recordKey = scheduleHash(base, record)
        local from = rcall('HGET', recordKey, 'h')
        local score = from and rcall('ZSCORE', dueIndex(base, from), record)
        if score then
          rcall('ZREM', dueIndex(base, from), record)
          rcall('HSET', recordKey, 'h', handlerKey)
          rcall('ZADD', dueKey, score, record)
        end
      end
    end
    if not holding then
      if enabled == '1' then
        local p = pending(dueKey)
        local due = tonumber(dueOf(nextFire, nextDue))
        p.scores[member] = due
        if not p.least or due < p.least then p.least = due end
      else
        unarm(dueKey, member)
      end
    end

    local runDue = rfire
    if rfire and f[6] and tonumber(f[6]) == rfire then runDue = tonumber(dueOf(f[6], f[7])) end
    local running = (rfire and rfence > 0 and rattempt > 0 and runDue <= now) and 1 or 0
    local o = #out
    out[o + 1], out[o + 2], out[o + 3], out[o + 4] = exists and 0 or 1, nextFire, dueOf(nextFire, nextDue), createdAt
    out[o + 5], out[o + 6], out[o + 7], out[o + 8] = f[11] or '', f[12] or '', running, tonumber(f[13] or '0')
    out[o + 9] = own ~= '' and 1 or 0
  end
end

for dueKey, p in pairs(arm) do
  local list = {}
  for member, due in pairs(p.scores) do
    list[#list + 1], list[#list + 2] = due, member
  end
  if #list > 0 then
    zaddPairs(dueKey, list)
    if not p.before or p.least < p.before then rcall('PUBLISH', channel, dueKey .. ' ' .. p.least) end
  end
end
if changedRunning then bumpEpoch(base, channel) end
return out
