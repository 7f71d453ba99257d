--[[
  Triggers, atomically, one extra run of a schedule, due now, without moving its series: a run
  record '<schedule member>:r:n<number>' (see includes/runRecords.lua) whose run state is a first
  attempt waiting unowned ('<now>:0:0:<now>:'), listed in the schedule's due index at now, so
  claimDue claims it once (attempt 1, a fencing token, a lease) and completeRuns ends it as it
  ends a detached run; its retries and lost leases are re-claimed like any run. The schedule's own
  fields (next fire time, run state and exactly-once mark) are not touched. Refused, writing
  nothing, when the schedule is paused, parked or a finished one-off task, or when its overlap policy is not 'allow' and a
  run of it is in progress: its own run holding a lease at or after its fire time, waiting for a
  retry or for its re-claim, or its latest trigger not yet ended. Unless the overlap policy is 'allow', the schedule's field 'tg' names the
  trigger, so that its series waits for it (claimDue holds its fire times back until the record
  is gone; a fire time reserved ahead is handed back at its confirmation: the revision and the
  partition's change epoch move on, published on ARGV[3] as '<epoch key> <epoch>'). Pods are woken
  on ARGV[3] ('<due index key> <now ms>').

  KEYS[1] partition base (string, hash-tagged); derives (includes/keys.lua) the schedule HASH
          scheduleHash(KEYS[1], ARGV[1]), the run record HASH scheduleHash(KEYS[1],
          runRecordMember(ARGV[1], 'n<number>')), the schedule's run SET detachedRuns(KEYS[1],
          ARGV[1]), the due index ZSET dueIndex(KEYS[1], <the hash's handler field>), the
          fencing counter STRING fenceCounter(KEYS[1]) (the number of the trigger) and the change
          epoch STRING epochCounter(KEYS[1])
  ARGV[1] member (the schedule's name in due indexes)
  ARGV[2] overlap policy of the module ('skip' | 'allow' | 'bufferOne'), for a schedule that sets none
  ARGV[3] wake channel (pub/sub channel name, not a key)

  Returns { 1, fire ms (Redis TIME), record id 'n<number>' } triggered, { 0 NOT_FOUND }, or
          { 2, 'running' | 'paused' | 'parked' | 'finished' (a one-off task that ran, 'fx') } refused
  Time: redis.call('TIME')
]]
local rcall = redis.call
--- @include "includes/nowMs.lua"
--- @include "includes/keys.lua"
--- @include "includes/bumpEpoch.lua"
--- @include "includes/runState.lua"

local base, member = KEYS[1], ARGV[1]
local hashKey = scheduleHash(base, member)
local f = rcall('HMGET', hashKey, 'h', 'gn', 'en', 'pk', 'po', 'r', 'tg', 'fx')
if not f[1] then return { 0 } end
if f[8] then return { 2, 'finished' } end
if f[4] and f[4] ~= '' then return { 2, 'parked' } end
if f[3] == '0' then return { 2, 'paused' } end
local now = nowMs()
local overlap = f[5] and string.match(f[5], '"overlap":"(%a+)"') or ARGV[2]
if overlap ~= 'allow' then
  -- a fire time of the series in progress: holding its lease, waiting for its retry (fence 0)
  -- or for its re-claim (lease lost), each claimed again whatever a trigger does
  local fire, attempt = parseRun(f[6])
  if fire and attempt > 0 and fire <= now then return { 2, 'running' } end
  if f[7] and rcall('EXISTS', scheduleHash(base, runRecordMember(member, f[7]))) == 1 then
    return { 2, 'running' }
  end
end
local id = 'n' .. rcall('INCR', fenceCounter(base))
local record = runRecordMember(member, id)
local dueKey = dueIndex(base, f[1])
rcall('HSET', scheduleHash(base, record), 'r', now .. ':0:0:' .. now .. ':', 'h', f[1], 'gn', f[2] or '0')
rcall('SADD', detachedRuns(base, member), id)
rcall('ZADD', dueKey, now, record)
if overlap ~= 'allow' then
  rcall('HSET', hashKey, 'tg', id)
  -- a fire time of the series reserved ahead waits for this run too: its reservation is handed
  -- back at its confirmation (revision and change epoch move on), and claimDue holds it back
  local fire, attempt, fence, lease = parseRun(f[6])
  if fire and attempt > 0 and fence > 0 and lease > now then
    rcall('HINCRBY', hashKey, 'rv', 1)
    bumpEpoch(base, ARGV[3])
  end
end
rcall('PUBLISH', ARGV[3], dueKey .. ' ' .. now)
return { 1, now, id }
