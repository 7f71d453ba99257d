--[[
  Claims, atomically, up to ARGV[1] runs from one handler's due index: every entry due by Redis
  TIME, and first attempts due within the next ARGV[3] ms (reservations: the claimant starts them
  at their due time, after confirmRuns). A schedule whose next fire time is above its exactly-once
  mark (the greatest fire time ever claimed, kept in the run state field 'r') gives a first
  attempt (attempt 1) and the mark moves up to it; one at or below the mark gives a stale claim
  (attempt 0), under a guard lease that records no run, to be re-armed only. A held run whose
  lease expired, or a retry that came due, is claimed again for the same fire time with attempt
  + 1 (a re-claim); so is a detached run record (member '<schedule member>:r:<fire ms>', overlap
  'allow'), or a triggered run's record ('<schedule member>:r:n<number>', triggerRun-1.lua: its
  first claim is attempt 1). Each claim gets a fencing token (also its owner token) and a lease;
  the member's score becomes the lease expiry, so a lost lease is found again by this same query.
  A first attempt of a schedule whose latest trigger (field 'tg', set by triggerRun-1.lua unless
  overlap is 'allow') has not ended waits for it: not reserved, and re-scored at the trigger's
  lease or retry time when due; the field goes once that run record is gone. Leases still held
  and retries not yet due inside the look-ahead are left alone. With ARGV[4] pods sharing the
  handler, a reservation is made only of a schedule assigned to this pod, whose incarnation `gn`
  is ARGV[5] modulo ARGV[4] (what is due now is claimed whoever it is assigned to).

  KEYS[1] due index (ZSET; member = schedule member or run record member, score = due ms, or the
          lease expiry ms while a run holds it)
  KEYS[2] fencing counter of the partition (STRING, integer)
  KEYS[3] schedule hash base (string, hash-tagged like KEYS[1]); the HASH of a member is
          KEYS[3] .. member, and a run record's schedule is KEYS[3] .. <schedule member> (a record
          whose schedule is gone, or was created again, is dropped, and so is one claimable while
          its schedule's tenant is paused (field 'tp', pauseTenant-1.lua), its id leaving the
          schedule's run SET detachedRuns(<KEYS[3] without its scheduleHash suffix>, <schedule
          member>)); a schedule's latest trigger
          record is KEYS[3] .. runRecordMember(member, <field 'tg'>) (includes/keys.lua)
  KEYS[4] change epoch of the partition (STRING, integer; see confirmRuns)
  ARGV[1] most runs to claim (integer)
  ARGV[2] lease (ms) of a claim that starts now, counted from now
  ARGV[3] look-ahead (ms, 0 = claim only what is due)
  ARGV[4] pods sharing the handler (integer ≥ 1)
  ARGV[5] this pod's rank among them (integer, 0-based)
  ARGV[6] entries of the window to pass over first (integer): those a previous call of the same
          round left alone
  ARGV[7] most reservations to make (integer): first attempts not yet due beyond it are left alone
  ARGV[8] lease (ms) of a reservation, counted from its due time (short, so that the fire times a
          crashed pod reserved are re-claimed soon after they are due; a started run's lease is
          renewed to ARGV[2] by its pod); ARGV[2] when absent

  Returns { now ms, next score to look at or -1 (the last one examined when the limit stopped the
            claim, else the first score after the look-ahead), least score of an entry left alone
            inside it (a lease held, a retry not yet due, another pod's) or -1, change epoch,
            entries examined and left alone, 1 if the limit stopped the claim (the window may hold
            more) else 0, n, then n × 10 fields: member, fire
            ms, due ms (-1 for a re-claim), attempt (0 stale, 1 first attempt, more: a re-claim),
            fencing token, revision, timing ('<cron>|<zone>|<jitter ms>'), payload, policy,
            incarnation }. The lease ends ARGV[8] ms after the due time of a reservation, ARGV[2] ms
            after now otherwise.
  Time: redis.call('TIME')
]]
local rcall = redis.call
--- @include "includes/nowMs.lua"
--- @include "includes/keys.lua"
--- @include "includes/runState.lua"
--- @include "includes/runRecords.lua"

local dueKey, fenceKey, base, epochKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]

-- When a fire time held back by a trigger's run record (HASH `recordKey`) is due again: its lease
-- expiry or retry time (at least now + 1), or nil when the record is gone.
local function triggerWait(recordKey, now)
  local r = rcall('HGET', recordKey, 'r')
  if not r then return nil end
  local _, _, _, lease = parseRun(r)
  return math.max(lease or 0, now + 1)
end
local limit, leaseMs, lookAhead = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local pods, rank, offset = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local maxAhead, ahead = tonumber(ARGV[7]), 0
local reserveMs = tonumber(ARGV[8] or ARGV[2])
local now = nowMs()
local horizon = now + lookAhead
-- the lease of a claim that starts now, as text (numbers are formatted once)
local leaseFromNow = tostring(now + leaseMs)
local out = { now, -1, -1, tonumber(rcall('GET', epochKey) or '0'), 0, 0, 0 }
local entries = rcall('ZRANGEBYSCORE', dueKey, '-inf', horizon, 'WITHSCORES', 'LIMIT', offset, limit)
local leases, n, leftAlone, passed = {}, 0, nil, 0
local fence = 0
if #entries > 0 then fence = rcall('INCRBY', fenceKey, #entries / 2) - #entries / 2 end

for i = 1, #entries, 2 do
  local member = entries[i]
  local hashKey = base .. member
  local parent = runRecordParent(member)
  local def, fire, due, attempt, mark, rescored
  local gone = false
  if parent then
    def = rcall('HMGET', base .. parent, 'gn', 'rv', 't', 'p', 'po', 'tp', 'tg')
    local rec = rcall('HMGET', hashKey, 'r', 'gn')
    local rfire, rattempt, _, rlease, rprev, rfireText = parseRun(rec[1])
    if not def[1] or def[1] ~= rec[2] or not rfire then
      gone = true
    elseif rlease <= now and def[6] then
      -- its tenant is paused since (pauseTenant, field 'tp'): no run of the tenant starts, as for
      -- the schedule's own run; the record (a trigger not yet started, a retry, a lost lease) ends
      -- here (a pause() of the schedule alone lets an accepted trigger run: README)
      local _, id = runRecordParent(member)
      rcall('SREM', detachedRuns(string.sub(base, 1, #base - #scheduleHash('', '')), parent), id)
      if def[7] == id then rcall('HDEL', base .. parent, 'tg') end
      gone = true
    elseif rlease <= now then
      fire, attempt, mark = rfireText, tostring(rattempt + 1), rprev
    end
    def = { def[2], def[3], def[4], def[5], def[1] }
  else
    local f = rcall('HMGET', hashKey, 'r', 'nf', 'nd', 'en', 'rv', 't', 'p', 'po', 'gn', 'tg')
    def = { f[5], f[6], f[7], f[8], f[9] }
    local rfire, rattempt, _, rlease, rprev, rfireText = parseRun(f[1])
    if rfire and rlease > now then
      -- a lease still held, a retry not yet due, or a stale guard: not ours to take
    elseif rfire and rattempt > 0 and f[4] == '0' then
      -- paused since: the fire time counts as run (a resume skips what it missed), nothing starts
      rcall('HSET', hashKey, 'r', markOfRun(rfire, rattempt, rprev, rfireText))
      gone = true
    elseif rfire and rattempt > 0 then
      fire, attempt, mark = rfireText, tostring(rattempt + 1), rprev
    elseif f[2] and f[4] ~= '0' then
      fire = f[2]
      due = dueOf(f[2], f[3])
      mark = rfire and rprev or (f[1] or '')
      attempt = (mark ~= '' and tonumber(mark) >= tonumber(fire)) and '0' or '1'
      if attempt == '1' and f[10] then
        -- its latest trigger (overlap other than 'allow', triggerRun-1.lua) has not ended: the fire
        -- time waits for it, due again when its lease or retry is (completeRuns re-arms it sooner)
        local waitFor = triggerWait(base .. runRecordMember(member, f[10]), now)
        if not waitFor then
          rcall('HDEL', hashKey, 'tg')
        elseif tonumber(due) <= now then
          attempt, rescored = nil, waitFor
          rcall('ZADD', dueKey, waitFor, member)
        else
          attempt = nil
        end
      end
      if attempt == '1' and tonumber(due) > now then
        if (pods > 1 and tonumber(f[9] or '0') % pods ~= rank) or ahead >= maxAhead then
          attempt = nil -- another pod's to reserve, or no room: anyone's once it is due
        else
          ahead = ahead + 1
        end
      end
    else
      -- removed, or paused while its entry was still here: nothing to run (a lapsed stale guard
      -- goes back to the mark, so a resume can arm the schedule again)
      if rfire and f[2] then
        if rprev == '' then rcall('HDEL', hashKey, 'r') else rcall('HSET', hashKey, 'r', rprev) end
      end
      gone = true
    end
  end
  if gone then
    rcall('ZREM', dueKey, member)
    if parent then rcall('DEL', hashKey) end
  elseif not attempt then
    -- left alone: claimable at its score (a lease running out, a retry, another pod's reservation;
    -- moved on, waiting for a trigger, it no longer holds its place in the window)
    local score = rescored or tonumber(entries[i + 1])
    if not leftAlone or score < leftAlone then leftAlone = score end
    if not rescored then passed = passed + 1 end
  else
    fence = fence + 1
    local lease = leaseFromNow
    -- (a triggered run's record is a first attempt without a due time: triggerRun-1.lua)
    if attempt == '1' and due and tonumber(due) > now then lease = tostring(tonumber(due) + reserveMs) end
    rcall('HSET', hashKey, 'r', fire .. ':' .. attempt .. ':' .. fence .. ':' .. lease .. ':' .. mark)
    leases[#leases + 1] = lease
    leases[#leases + 1] = member
    n = n + 1
    local o = #out
    out[o + 1] = member
    out[o + 2] = fire
    out[o + 3] = due or -1
    out[o + 4] = attempt
    out[o + 5] = fence
    out[o + 6] = def[1] or '0'
    out[o + 7] = def[2] or ''
    out[o + 8] = def[3] or ''
    out[o + 9] = def[4] or ''
    out[o + 10] = def[5] or '0'
  end
end
if #leases > 0 then zaddPairs(dueKey, leases) end
out[5] = passed
out[7] = n
if leftAlone then out[3] = leftAlone end
if #entries / 2 >= limit then
  -- the window may hold more: the next claim goes on from here, past what this one left alone
  out[2] = tonumber(entries[#entries])
  out[6] = 1
else
  local after = rcall('ZRANGEBYSCORE', dueKey, '(' .. horizon, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
  if after[2] then out[2] = tonumber(after[2]) end
end
return out
