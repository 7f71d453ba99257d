--[[
  Claims, atomically, up to ARGV[1] runs from one handler's due index: every entry due by Redis
  TIME, and first attempts due within the next ARGV[3] ms (reservations: the claimant starts them
  at their due time, after confirmRuns). A schedule whose next fire time is above its high-water
  mark `hw` (the greatest fire time ever claimed: the exactly-once mark) gives a first attempt
  ('run') and `hw` moves up to it; one at or below the mark is handed out as 'stale', under a
  guard lease that records no run (attempt 0), to be re-armed only. A recorded run whose lease
  expired, or a retry that came due, is claimed again for the same fire time with attempt + 1
  ('recover'); so is a detached run record (member '<schedule member>:r:<fire ms>', overlap
  'allow'). Each claim gets a fencing token (also its owner token) and a lease; the member's score
  becomes the lease expiry, so a lost lease is found again by this same query. Leases still held
  and retries not yet due inside the look-ahead are left alone.

  KEYS[1] due index (ZSET; member = schedule member or run record member, score = due ms, or the
          lease expiry ms while a run holds it)
  KEYS[2] fencing counter of the partition (STRING, integer)
  KEYS[3] schedule hash base (string, hash-tagged like KEYS[1]); the HASH of a member is
          KEYS[3] .. member, and a run record's schedule is KEYS[3] .. <schedule member> (a record
          whose schedule is gone, or was created again, is dropped)
  KEYS[4] change epoch of the partition (STRING, integer; see confirmRuns)
  ARGV[1] most runs to claim (integer)
  ARGV[2] lease (ms), counted from the due time for a reservation
  ARGV[3] look-ahead (ms, 0 = claim only what is due)

  Returns { now ms, first score after the look-ahead or -1, least score of an entry left alone
            inside it or -1, change epoch, n, then n × 11 fields: member, fire ms, due ms (-1 when
            unknown: a re-claim), attempt, fencing token, lease expiry ms, claim ('run' | 'recover'
            | 'stale'), revision, timing ('<cron>|<zone>|<jitter ms>'), payload, policy }
  Time: redis.call('TIME')
]]
local rcall = redis.call
--- @include "includes/nowMs.lua"
--- @include "includes/runState.lua"
--- @include "includes/runRecords.lua"

local dueKey, fenceKey, base, epochKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local limit, leaseMs, lookAhead = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local now = nowMs()
local horizon = now + lookAhead
local out = { now, -1, -1, tonumber(rcall('GET', epochKey) or '0'), 0 }
local entries = rcall('ZRANGEBYSCORE', dueKey, '-inf', horizon, 'WITHSCORES', 'LIMIT', 0, limit)
local leases, n, leftAlone = {}, 0, nil
local fence = 0
if #entries > 0 then fence = rcall('INCRBY', fenceKey, #entries / 2) - #entries / 2 end

for i = 1, #entries, 2 do
  local member, score = entries[i], tonumber(entries[i + 1])
  local hashKey = base .. member
  local parent = runRecordParent(member)
  local def, fire, due, attempt, kind, prevHw
  local gone = false
  if parent then
    def = rcall('HMGET', base .. parent, 'gn', 'rv', 't', 'p', 'po')
    local rec = rcall('HMGET', hashKey, 'r', 'gn')
    local rfire, rattempt, _, rlease, rprev = parseRun(rec[1])
    if not def[1] or def[1] ~= rec[2] or not rfire then
      gone = true
    elseif rlease <= now then
      fire, attempt, kind, prevHw = rfire, rattempt + 1, 'recover', rprev
    end
    def = { def[2], def[3], def[4], def[5] }
  else
    local f = rcall('HMGET', hashKey, 'r', 'nf', 'nd', 'hw', 'en', 'rv', 't', 'p', 'po')
    def = { f[6], f[7], f[8], f[9] }
    local rfire, rattempt, _, rlease, rprev = parseRun(f[1])
    if rfire and rlease > now then
      -- a lease still held, a retry not yet due, or a stale guard: not ours to take
    elseif rfire and rattempt > 0 then
      fire, attempt, kind, prevHw = rfire, rattempt + 1, 'recover', rprev
    elseif f[2] and f[5] ~= '0' then
      fire = tonumber(f[2])
      due = tonumber(dueOf(f[2], f[3]))
      prevHw = f[4] or ''
      if f[4] and tonumber(f[4]) >= fire then
        kind, attempt = 'stale', 0
      else
        kind, attempt = 'run', 1
      end
    else
      gone = true -- removed, or paused while its entry was still here: nothing to run
    end
  end
  if gone then
    rcall('ZREM', dueKey, member)
    if parent then rcall('DEL', hashKey) end
  elseif not kind then
    if not leftAlone or score < leftAlone then leftAlone = score end
  else
    fence = fence + 1
    local lease = now + leaseMs
    if kind == 'run' and due > now then lease = due + leaseMs end
    if kind == 'run' then
      rcall('HSET', hashKey, 'r', formatRun(fire, attempt, fence, lease, prevHw), 'hw', fire)
    else
      rcall('HSET', hashKey, 'r', formatRun(fire, attempt, fence, lease, prevHw))
    end
    leases[#leases + 1] = lease
    leases[#leases + 1] = member
    n = n + 1
    local o = #out
    out[o + 1] = member
    out[o + 2] = fire
    out[o + 3] = due or -1
    out[o + 4] = attempt
    out[o + 5] = fence
    out[o + 6] = lease
    out[o + 7] = kind
    out[o + 8] = def[1] or '0'
    out[o + 9] = def[2] or ''
    out[o + 10] = def[3] or ''
    out[o + 11] = def[4] or ''
  end
end
if #leases > 0 then zaddPairs(dueKey, leases) end
out[5] = n
if leftAlone then out[3] = leftAlone end
local after = rcall('ZRANGEBYSCORE', dueKey, '(' .. horizon, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
if after[2] then out[2] = tonumber(after[2]) end
return out
