--[[
  Pauses or resumes a schedule atomically (resuming also un-parks one that completeRuns parked).
  Pausing takes it out of its due index (a run in
  flight finishes and is not re-armed; a reservation not yet started is handed back when it comes
  due); resuming sets the next fire time the caller computed from Redis time and the timing it
  read (fire times missed while paused are skipped) and wakes sleeping workers (message on ARGV[4]:
  '<due index key> <due ms>'). Either moves the revision on, and the partition's change epoch too
  (published on ARGV[4] as '<epoch key> <epoch>', so pods confirm their waiting runs again)
  when the schedule holds a run state. While its tenant is paused (field 'tp' set, see
  pauseTenant-1.lua) only the schedule's own state in 'tp' changes ('1' resumed, '0' paused;
  resuming also un-parks it): resumeTenant restores it. A pause with ARGV[7] = '1' also marks the
  schedule 'ps' (paused at runtime: upsertSchedules keeps it paused when a pod declares it again
  at boot); a resume clears that mark. A finished one-off task ('fx', see completeRuns-1.lua) is
  left as it is (re-armed, it would be claimed as a stale run and finished anew, its expiry moved).

  KEYS[1] schedule HASH
  KEYS[2] partition base (string, hash-tagged like KEYS[1]); derives (includes/keys.lua) the due
          index ZSET dueIndex(KEYS[2], <the hash's handler field>) and the change epoch STRING
          epochCounter(KEYS[2])
  ARGV[1] '1' resume | '0' pause
  ARGV[2] next fire (ms), used on resume
  ARGV[3] next due (ms), used on resume
  ARGV[4] wake channel (pub/sub channel name, not a key)
  ARGV[5] member (the schedule's name in due indexes)
  ARGV[6] timing the next fire time was computed from, used on resume
  ARGV[7] '1' to mark a pause as made at runtime ('ps'), '' else (optional)

  Returns { 1, next fire ms, next due ms }, { 0 } NOT_FOUND, or { -6 CHANGED } when resuming and
          the timing is no longer ARGV[6] (computed from a stale read: read and try again)
  Time: redis.call('TIME')
]]
local rcall = redis.call
--- @include "includes/nowMs.lua"
--- @include "includes/keys.lua"
--- @include "includes/bumpEpoch.lua"
--- @include "includes/runState.lua"

local hashKey, base, member = KEYS[1], KEYS[2], ARGV[5]
local f = rcall('HMGET', hashKey, 'h', 'en', 'r', 'rv', 'nf', 'nd', 't', 'tp', 'fx')
if not f[1] then return { 0 } end
-- a finished one-off (completeRuns, 'fx') has nothing to pause or resume: left as it is
if f[9] then return { 1, tonumber(f[5]), tonumber(dueOf(f[5], f[6])) } end
local dueKey = dueIndex(base, f[1])
local holding = parseRun(f[3]) ~= nil
local now = nowMs()
local revision = tonumber(f[4] or '0') + 1
if f[8] then
  rcall('HSET', hashKey, 'tp', ARGV[1], 'rv', revision, 'ua', now)
  if ARGV[1] == '1' then rcall('HDEL', hashKey, 'pk') end
  return { 1, tonumber(f[5]), tonumber(dueOf(f[5], f[6])) }
end
if ARGV[1] == '0' then
  if ARGV[7] == '1' then rcall('HSET', hashKey, 'ps', '1') end
  if f[2] ~= '0' then
    rcall('HSET', hashKey, 'en', '0', 'rv', revision, 'ua', now)
    if holding then bumpEpoch(base, ARGV[4]) else rcall('ZREM', dueKey, member) end
  end
  return { 1, tonumber(f[5]), tonumber(dueOf(f[5], f[6])) }
end
if f[2] ~= '0' then return { 1, tonumber(f[5]), tonumber(dueOf(f[5], f[6])) } end
if f[7] ~= ARGV[6] then return { -6 } end
local nextDue = ARGV[3]
if nextDue == ARGV[2] then nextDue = '' end
rcall('HSET', hashKey, 'nf', ARGV[2], 'nd', nextDue, 'rv', revision, 'ua', now)
rcall('HDEL', hashKey, 'en', 'pk', 'ps')
if holding then
  bumpEpoch(base, ARGV[4])
else
  rcall('ZADD', dueKey, ARGV[3], member)
  rcall('PUBLISH', ARGV[4], dueKey .. ' ' .. ARGV[3])
end
return { 1, tonumber(ARGV[2]), tonumber(ARGV[3]) }
