--[[
  Claims, atomically, up to ARGV[1] runs that are due in one handler's due index. A schedule
  member whose score came due starts the run of its next fire time (attempt 1), unless that fire
  time is at or below the schedule's high-water mark `hw` (the greatest fire time ever claimed:
  the exactly-once mark), when it is handed out as 'stale' to be re-armed only, under a guard
  lease that records no run. A member whose run
  is still recorded (its lease expired, or a retry came due) is re-claimed for the same fire time
  with attempt + 1 ('recover'); so is a detached run record (member '<schedule member>:r:<fire ms>',
  written by detachRuns for overlap 'allow'). Each claim gets a fencing token, an owner token and
  a lease, and the member's score becomes the lease expiry, so an expired lease is found again by
  this same query.

  KEYS[1] due index (ZSET; member = schedule member or run record member, score = due ms, or lease
          expiry ms while a run holds it)
  KEYS[2] fencing counter of the partition (STRING, integer)
  KEYS[3] schedule hash base (string, hash-tagged like KEYS[1]); the HASH of a member is
          KEYS[3] .. member, and a run record's schedule is KEYS[3] .. <schedule member> (a record
          whose schedule is gone, or was created again, is dropped)
  ARGV[1] most runs to claim (integer)
  ARGV[2] lease (ms)
  ARGV[3] claimant id (string), prefix of the owner tokens

  Returns { now ms, earliest score left in KEYS[1] or -1, n, then n × 16 fields:
            member, fire ms, attempt, fencing token, owner token, lease expiry ms,
            claim ('run' | 'recover' | 'stale'), timing revision, cron, time zone, jitter ms,
            payload, tenant, id, schedule kind ('c' | 't'), policy (JSON or '') }
  Time: redis.call('TIME')
]]
local rcall = redis.call
--- @include "includes/nowMs.lua"
--- @include "includes/runRecords.lua"

local dueKey, fenceKey, base = KEYS[1], KEYS[2], KEYS[3]
local limit = tonumber(ARGV[1])
local leaseMs = tonumber(ARGV[2])
local claimant = ARGV[3]
local now = nowMs()
local FIELDS = { 'rf', 'at', 'nf', 'hw', 'en', 'tr', 'cr', 'tz', 'j', 'p', 'tn', 'id', 'k', 'po' }

local out = { now, -1, 0 }
local members = rcall('ZRANGEBYSCORE', dueKey, '-inf', now, 'LIMIT', 0, limit)
if #members > 0 then
  local fence = rcall('INCRBY', fenceKey, #members) - #members
  local n = 0
  for _, member in ipairs(members) do
    local hashKey = base .. member
    local parent = runRecordParent(member)
    local f, fire, attempt, kind
    if parent then
      f = rcall('HMGET', base .. parent, unpack(FIELDS))
      local r = rcall('HMGET', hashKey, 'rf', 'at')
      if f[3] and r[1] and parentAlive(base .. parent, hashKey) then
        fire, attempt, kind = tonumber(r[1]), tonumber(r[2]) + 1, 'recover'
      end
    else
      f = rcall('HMGET', hashKey, unpack(FIELDS))
      if f[1] and f[1] ~= '' then
        fire, attempt, kind = tonumber(f[1]), tonumber(f[2]) + 1, 'recover'
      elseif f[3] and f[5] == '1' then
        fire, attempt = tonumber(f[3]), 1
        kind = (f[4] and tonumber(f[4]) >= fire) and 'stale' or 'run'
      end
    end
    if not kind then
      -- removed, or paused while its entry was still here: nothing to run
      rcall('ZREM', dueKey, member)
      if parent then rcall('DEL', hashKey) end
    else
      fence = fence + 1
      local token = claimant .. ':' .. fence
      local lease = now + leaseMs
      if parent then
        rcall('HSET', hashKey, 'at', attempt, 'tk', token, 'lx', lease, 'fc', fence)
      elseif kind == 'stale' then
        -- a guard lease only: the run state stays empty, so a lapsed stale claim is stale again,
        -- never a 'recover' of a fire time that already ran
        rcall('HSET', hashKey, 'tk', token, 'lx', lease, 'fc', fence)
      else
        local highWater = fire
        if f[4] and tonumber(f[4]) > fire then highWater = tonumber(f[4]) end
        rcall('HSET', hashKey, 'rf', fire, 'at', attempt, 'tk', token, 'lx', lease, 'fc', fence, 'hw', highWater)
      end
      rcall('ZADD', dueKey, lease, member)
      n = n + 1
      local i = #out
      out[i + 1] = member
      out[i + 2] = fire
      out[i + 3] = attempt
      out[i + 4] = fence
      out[i + 5] = token
      out[i + 6] = lease
      out[i + 7] = kind
      out[i + 8] = f[6] or '0'
      out[i + 9] = f[7] or ''
      out[i + 10] = f[8] or ''
      out[i + 11] = f[9] or '0'
      out[i + 12] = f[10] or ''
      out[i + 13] = f[11] or ''
      out[i + 14] = f[12] or ''
      out[i + 15] = f[13] or ''
      out[i + 16] = f[14] or ''
    end
  end
  out[3] = n
end
local first = rcall('ZRANGE', dueKey, 0, 0, 'WITHSCORES')
if first[2] then out[2] = tonumber(first[2]) end
return out
