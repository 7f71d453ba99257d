--[[
  Removes a schedule atomically: its hash, its due index entry, its run history, its tenant set
  membership, and its detached run records (overlap 'allow': each record's hash and due index
  entry, found through the schedule's run set, so no due index is scanned). Once this returns, no
  pod can claim it again, and no reservation of it starts (the partition's change epoch moves on
  when it held a run state, so confirmRuns checks it); a run already started, detached or not,
  loses its lease at the next renewal and cannot record completion.

  KEYS[1] schedule HASH
  KEYS[2] tenant's schedule SET
  KEYS[3] partition base (string, hash-tagged like KEYS[1]); derives the due index ZSET
          KEYS[3] .. 'due:' .. <the hash's handler field>, the history LIST KEYS[3] .. 'hist:' ..
          member, the change epoch STRING KEYS[3] .. 'ep', the run SET KEYS[3] .. 'runs:' ..
          member (fire ms of its run records), and for each of its fire times the run record HASH
          KEYS[3] .. 's:' .. member .. ':r:' .. <fire ms> and the due index ZSET KEYS[3] .. 'due:'
          .. <the record's handler field>
  ARGV[1] id (member of KEYS[2])
  ARGV[2] member (the schedule's name in due indexes)

  Returns 1 removed, 0 NOT_FOUND
  Time: redis.call('TIME') is not needed: nothing here depends on the time
]]
local rcall = redis.call
local base, member = KEYS[3], ARGV[2]
local f = rcall('HMGET', KEYS[1], 'h', 'r')
if not f[1] then return 0 end
rcall('ZREM', base .. 'due:' .. f[1], member)
local runsKey = base .. 'runs:' .. member
for _, fire in ipairs(rcall('SMEMBERS', runsKey)) do
  local record = member .. ':r:' .. fire
  local recordKey = base .. 's:' .. record
  rcall('ZREM', base .. 'due:' .. (rcall('HGET', recordKey, 'h') or f[1]), record)
  rcall('DEL', recordKey)
end
rcall('DEL', KEYS[1], base .. 'hist:' .. member, runsKey)
rcall('SREM', KEYS[2], ARGV[1])
-- a run state holding a run (not the bare exactly-once mark): a reservation may wait for it
if f[2] and string.find(f[2], ':', 1, true) then rcall('INCR', base .. 'ep') end
return 1
