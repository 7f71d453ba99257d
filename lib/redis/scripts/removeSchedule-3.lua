--[[
  Removes a schedule atomically: its hash, its due index entry, its run history and its tenant
  set membership. Once this returns, no pod can claim it again, and no reservation of it starts
  (the partition's change epoch moves on when it held a run state, so confirmRuns checks it); a
  run already started loses its lease at the next renewal and cannot record completion.

  KEYS[1] schedule HASH
  KEYS[2] tenant's schedule SET
  KEYS[3] partition base (string, hash-tagged like KEYS[1]); derives the due index ZSET
          KEYS[3] .. 'due:' .. <the hash's handler field>, the history LIST KEYS[3] .. 'hist:' ..
          member and the change epoch STRING KEYS[3] .. 'ep'
  ARGV[1] id (member of KEYS[2])
  ARGV[2] member (the schedule's name in due indexes)

  Returns 1 removed, 0 NOT_FOUND
  Time: redis.call('TIME') is not needed: nothing here depends on the time
]]
local rcall = redis.call
local f = rcall('HMGET', KEYS[1], 'h', 'r')
if not f[1] then return 0 end
rcall('ZREM', KEYS[3] .. 'due:' .. f[1], ARGV[2])
rcall('DEL', KEYS[1], KEYS[3] .. 'hist:' .. ARGV[2])
rcall('SREM', KEYS[2], ARGV[1])
-- a run state holding a run (not the bare exactly-once mark): a reservation may wait for it
if f[2] and string.find(f[2], ':', 1, true) then rcall('INCR', KEYS[3] .. 'ep') end
return 1
