--[[
  Removes a schedule atomically: its hash, its due index entry, its run history, its tenant set
  membership, and its detached run records (overlap 'allow': each record's hash and due index
  entry, found through the schedule's run set, so no due index is scanned). Once this returns, no
  pod can claim it again, and no reservation of it starts (the partition's change epoch moves on
  when it held a run state, so confirmRuns checks it); a run already started, detached or not,
  loses its lease at the next renewal and cannot record completion. The tenant's last schedule
  takes the tenant out of the partition's tenant index, unless the tenant is paused.

  KEYS[1] schedule HASH
  KEYS[2] tenant's schedule SET
  KEYS[3] partition base (string, hash-tagged like KEYS[1]); derives (includes/keys.lua) the due
          index ZSET dueIndex(KEYS[3], <the hash's handler field>), the history HASH
          history(KEYS[3], member), the change epoch STRING epochCounter(KEYS[3]), the run SET
          detachedRuns(KEYS[3], member) (fire ms of its run records), and for each of its fire
          times the run record HASH scheduleHash(KEYS[3], runRecordMember(member, <fire ms>)) and
          the due index ZSET dueIndex(KEYS[3], <the record's handler field>), the tenant index
          ZSET tenantIndex(KEYS[3]) and the tenant's pause STRING tenantPause(KEYS[3], <tenant>)
  ARGV[1] id (member of KEYS[2])
  ARGV[2] member (the schedule's name in due indexes, 't:<tenant>:<id>')
  ARGV[3] wake channel (pub/sub channel name, not a key): a moved change epoch is published on it
          as '<epoch key> <epoch>', so pods confirm their waiting runs again

  Returns 1 removed, 0 NOT_FOUND
  Time: redis.call('TIME') is not needed: nothing here depends on the time
]]
local rcall = redis.call
--- @include "includes/keys.lua"
--- @include "includes/bumpEpoch.lua"
--- @include "includes/dropSchedule.lua"

local base, member = KEYS[3], ARGV[2]
local removed, held = dropSchedule(base, member)
if not removed then return 0 end
rcall('SREM', KEYS[2], ARGV[1])
local tenant = string.match(member, '^t:([^:]+):')
if tenant and rcall('SCARD', KEYS[2]) == 0 and rcall('EXISTS', tenantPause(base, tenant)) == 0 then
  rcall('ZREM', tenantIndex(base), tenant)
end
if held then bumpEpoch(base, ARGV[3]) end
return 1
