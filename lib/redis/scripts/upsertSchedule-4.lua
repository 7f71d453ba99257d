--[[
  Creates or updates a schedule atomically, enforcing the tenant guards where it writes: a new
  dynamic schedule is refused when its tenant already owns the most schedules allowed, and any
  payload over the size limit is refused; nothing is written on refusal. The next fire time is
  replaced only when the timing changed (handler, cron, time zone, jitter, or re-enabling), so an
  identical upsert is idempotent. A run in flight keeps its lease; its completion re-arms the
  schedule from the new timing. Publishes on ARGV[14] when the new due time is the earliest of
  its due index (message: '<due index key> <due ms>'), so sleeping workers wake.

  KEYS[1] schedule HASH
  KEYS[2] due index ZSET of the schedule's handler
  KEYS[3] tenant's schedule SET (member = id); unused for static schedules
  KEYS[4] partition base (string, hash-tagged like KEYS[1..3]); derives the previous handler's
          due index ZSET KEYS[4] .. 'due:' .. <the hash's old handler field> and the partition's
          counter STRING KEYS[4] .. 'fence', which numbers a new schedule's incarnation
  ARGV[1] schedule kind ('c' static | 't' dynamic)
  ARGV[2] tenant id ('' for static)
  ARGV[3] id (dynamic id, or static name)
  ARGV[4] handler key (due index suffix)
  ARGV[5] cron expression
  ARGV[6] time zone
  ARGV[7] jitter (ms)
  ARGV[8] payload (JSON, '' for none)
  ARGV[9] enabled ('1' | '0')
  ARGV[10] next fire (ms), computed from Redis time by the caller
  ARGV[11] next due (ms) = next fire + jitter offset
  ARGV[12] most schedules per tenant (integer, 0 = no limit)
  ARGV[13] most payload bytes (integer, 0 = no limit)
  ARGV[14] wake channel (pub/sub channel name, not a key)
  ARGV[15] member (the schedule's name in due indexes)
  ARGV[16] policy (JSON of the schedule's own failure-semantics fields, '' for none)

  Returns { 1 created | 0 updated, next fire ms, next due ms, created at ms, updated at ms,
            enabled (1 | 0), last fire ms or '', last status or '', last error or '', running (1 | 0),
            fire times skipped so far }
          or { -1 TENANT_QUOTA_EXCEEDED, schedules owned } or { -2 PAYLOAD_TOO_LARGE, bytes }
  Time: redis.call('TIME')
]]
local rcall = redis.call
--- @include "includes/nowMs.lua"

local hashKey, dueKey, tenantKey, base = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local kind, tenant, id, handlerKey = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local cron, tz, jitter, payload, enabled = ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9]
local maxPerTenant, maxPayload, channel, member = tonumber(ARGV[12]), tonumber(ARGV[13]), ARGV[14], ARGV[15]
local now = nowMs()

local f = rcall('HMGET', hashKey, 'h', 'cr', 'tz', 'j', 'en', 'nf', 'nd', 'rf', 'tr', 'ca', 'lx', 'lf', 'ls', 'lm', 'sk', 'tk')
local exists = f[1] ~= false
if not exists and kind == 't' and maxPerTenant > 0 then
  local owned = rcall('SCARD', tenantKey)
  if owned >= maxPerTenant then return { -1, owned } end
end
if maxPayload > 0 and #payload > maxPayload then return { -2, #payload } end

local nextFire, nextDue, revision = f[6], f[7], tonumber(f[9] or '0')
local timingChanged = not exists or f[1] ~= handlerKey or f[2] ~= cron or f[3] ~= tz or f[4] ~= jitter
  or (enabled == '1' and f[5] ~= '1')
if timingChanged then
  nextFire, nextDue, revision = ARGV[10], ARGV[11], revision + 1
end
local createdAt = f[10] or now
rcall('HSET', hashKey, 'k', kind, 'tn', tenant, 'id', id, 'h', handlerKey, 'cr', cron, 'tz', tz,
  'j', jitter, 'p', payload, 'en', enabled, 'nf', nextFire, 'nd', nextDue, 'tr', revision,
  'ca', createdAt, 'ua', now, 'po', ARGV[16])
if kind == 't' and not exists then rcall('SADD', tenantKey, id) end
-- A new incarnation number, so run records of a removed schedule never attach to its successor.
if not exists then rcall('HSET', hashKey, 'gn', rcall('INCR', base .. 'fence')) end

local running = f[8] and f[8] ~= ''
if exists and f[1] ~= handlerKey then
  rcall('ZREM', base .. 'due:' .. f[1], member)
  if running then rcall('ZADD', dueKey, f[11], member) end
end
if not running then
  if enabled == '1' then
    local first = rcall('ZRANGE', dueKey, 0, 0, 'WITHSCORES')
    rcall('ZADD', dueKey, nextDue, member)
    if not first[2] or tonumber(nextDue) < tonumber(first[2]) then
      rcall('PUBLISH', channel, dueKey .. ' ' .. nextDue)
    end
  else
    rcall('ZREM', dueKey, member)
  end
end
return { exists and 0 or 1, tonumber(nextFire), tonumber(nextDue), tonumber(createdAt), now,
  enabled == '1' and 1 or 0, f[12] or '', f[13] or '', f[14] or '', (running and f[16] ~= '') and 1 or 0,
  tonumber(f[15] or '0') }
