--[[
  Removes a schedule atomically: its hash, its due index entry, its run history and its tenant
  set membership.
  Once this returns, no pod can claim it again; a run already claimed loses its lease at the
  next renewal and cannot record completion.

  KEYS[1] schedule HASH
  KEYS[2] tenant's schedule SET
  KEYS[3] partition base (string, hash-tagged like KEYS[1]); derives the due index ZSET
          KEYS[3] .. 'due:' .. <the hash's handler field> and the history LIST KEYS[3] .. 'hist:' .. member
  ARGV[1] id (member of KEYS[2])
  ARGV[2] member (the schedule's name in due indexes)

  Returns 1 removed, 0 NOT_FOUND
  Time: redis.call('TIME') is not needed: nothing here depends on the time
]]
local rcall = redis.call
local handlerKey = rcall('HGET', KEYS[1], 'h')
if not handlerKey then return 0 end
rcall('ZREM', KEYS[3] .. 'due:' .. handlerKey, ARGV[2])
rcall('DEL', KEYS[1], KEYS[3] .. 'hist:' .. ARGV[2])
rcall('SREM', KEYS[2], ARGV[1])
return 1
