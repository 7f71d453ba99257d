--[[
  Pauses or resumes a schedule atomically. Pausing takes it out of its due index (a run in
  flight finishes and is not re-armed); resuming sets the next fire time computed by the caller
  from Redis time (fire times missed while paused are skipped) and wakes sleeping workers
  (message on ARGV[4]: '<due index key> <due ms>').

  KEYS[1] schedule HASH
  KEYS[2] partition base (string, hash-tagged like KEYS[1]); derives the due index ZSET
          KEYS[2] .. 'due:' .. <the hash's handler field>
  ARGV[1] '1' resume | '0' pause
  ARGV[2] next fire (ms), used on resume
  ARGV[3] next due (ms), used on resume
  ARGV[4] wake channel (pub/sub channel name, not a key)
  ARGV[5] member (the schedule's name in due indexes)

  Returns { 1, next fire ms, next due ms } or { 0 } NOT_FOUND
  Time: redis.call('TIME')
]]
local rcall = redis.call
--- @include "includes/nowMs.lua"

local f = rcall('HMGET', KEYS[1], 'h', 'en', 'rf', 'tr', 'nf', 'nd')
if not f[1] then return { 0 } end
local dueKey = KEYS[2] .. 'due:' .. f[1]
local running = f[3] and f[3] ~= ''
local now = nowMs()
if ARGV[1] == '0' then
  rcall('HSET', KEYS[1], 'en', '0', 'ua', now)
  if not running then rcall('ZREM', dueKey, ARGV[5]) end
  return { 1, tonumber(f[5]), tonumber(f[6]) }
end
if f[2] == '1' then return { 1, tonumber(f[5]), tonumber(f[6]) } end
rcall('HSET', KEYS[1], 'en', '1', 'nf', ARGV[2], 'nd', ARGV[3], 'tr', tonumber(f[4] or '0') + 1, 'ua', now)
if not running then
  rcall('ZADD', dueKey, ARGV[3], ARGV[5])
  rcall('PUBLISH', ARGV[4], dueKey .. ' ' .. ARGV[3])
end
return { 1, tonumber(ARGV[2]), tonumber(ARGV[3]) }
