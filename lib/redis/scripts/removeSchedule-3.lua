--[[
  Removes a schedule atomically: its hash, its due index entry, its run history, its tenant set
  membership, and its detached run records (overlap 'allow': each record's hash and due index
  entry, found through the schedule's run set, so no due index is scanned). Once this returns, no
  pod can claim it again, and no reservation of it starts (the partition's change epoch moves on
  when it held a run state, so confirmRuns checks it); a run already started, detached or not,
  loses its lease at the next renewal and cannot record completion.

  KEYS[1] schedule HASH
  KEYS[2] tenant's schedule SET
  KEYS[3] partition base (string, hash-tagged like KEYS[1]); derives (includes/keys.lua) the due
          index ZSET dueIndex(KEYS[3], <the hash's handler field>), the history HASH
          history(KEYS[3], member), the change epoch STRING epochCounter(KEYS[3]), the run SET
          detachedRuns(KEYS[3], member) (fire ms of its run records), and for each of its fire
          times the run record HASH scheduleHash(KEYS[3], runRecordMember(member, <fire ms>)) and
          the due index ZSET dueIndex(KEYS[3], <the record's handler field>)
  ARGV[1] id (member of KEYS[2])
  ARGV[2] member (the schedule's name in due indexes)
  ARGV[3] wake channel (pub/sub channel name, not a key): a moved change epoch is published on it
          as '<epoch key> <epoch>', so pods confirm their waiting runs again

  Returns 1 removed, 0 NOT_FOUND
  Time: redis.call('TIME') is not needed: nothing here depends on the time
]]
local rcall = redis.call
--- @include "includes/keys.lua"
--- @include "includes/bumpEpoch.lua"

local base, member = KEYS[3], ARGV[2]
local f = rcall('HMGET', KEYS[1], 'h', 'r')
if not f[1] then return 0 end
rcall('ZREM', dueIndex(base, f[1]), member)
local runsKey = detachedRuns(base, member)
for _, fire in ipairs(rcall('SMEMBERS', runsKey)) do
  local record = runRecordMember(member, fire)
  local recordKey = scheduleHash(base, record)
  rcall('ZREM', dueIndex(base, rcall('HGET', recordKey, 'h') or f[1]), record)
  rcall('DEL', recordKey)
end
rcall('DEL', KEYS[1], history(base, member), runsKey)
rcall('SREM', KEYS[2], ARGV[1])
-- a run state holding a run (not the bare exactly-once mark): a reservation may wait for it
if f[2] and string.find(f[2], ':', 1, true) then bumpEpoch(base, ARGV[3]) end
return 1
