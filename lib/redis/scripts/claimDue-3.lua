--[[
  Claims, atomically, up to ARGV[1] runs that are due in one handler's due index: for each due
  schedule it either starts the run of its next fire time (attempt 1) or, when the member's
  score was a lease that has expired, re-claims the same fire time with attempt + 1. Each claim
  gets a fencing token, an owner token and a lease; the member's score becomes the lease expiry,
  so an expired lease is found again by this same query. A fire time at or below the schedule's
  high-water mark (`hw`, the greatest fire time ever claimed) is never started again.

  KEYS[1] due index (ZSET; member = schedule member, score = due ms, or lease expiry ms while a run holds it)
  KEYS[2] fencing counter of the partition (STRING, integer)
  KEYS[3] schedule hash base (string, hash-tagged like KEYS[1]); a schedule's HASH is KEYS[3] .. member
  ARGV[1] most runs to claim (integer)
  ARGV[2] lease (ms)
  ARGV[3] claimant id (string), prefix of the owner tokens
  ARGV[4] most attempts per fire time (integer); a run past it is handed back as 'abandon'

  Returns { now ms, earliest score left in KEYS[1] or -1, n, then n × 15 fields:
            member, fire ms, attempt, fencing token, owner token, lease expiry ms,
            kind of claim ('run' | 'recover' | 'stale' | 'abandon'), timing revision, cron,
            time zone, jitter ms, payload, tenant, id, schedule kind ('c' | 't') }
  Time: redis.call('TIME')
]]
local rcall = redis.call
--- @include "includes/nowMs.lua"

local dueKey = KEYS[1]
local limit = tonumber(ARGV[1])
local leaseMs = tonumber(ARGV[2])
local claimant = ARGV[3]
local maxAttempts = tonumber(ARGV[4])
local now = nowMs()

local out = { now, -1, 0 }
local members = rcall('ZRANGEBYSCORE', dueKey, '-inf', now, 'LIMIT', 0, limit)
if #members > 0 then
  local fence = rcall('INCRBY', KEYS[2], #members) - #members
  local n = 0
  for _, member in ipairs(members) do
    local hashKey = KEYS[3] .. member
    local f = rcall('HMGET', hashKey, 'rf', 'at', 'nf', 'hw', 'en', 'tr', 'cr', 'tz', 'j', 'p', 'tn', 'id', 'k')
    local running = f[1] and f[1] ~= ''
    if not f[3] or (not running and f[5] ~= '1') then
      -- removed, or paused while its entry was still here: nothing to run
      rcall('ZREM', dueKey, member)
    else
      fence = fence + 1
      local fire, attempt, kind
      if running then
        fire = tonumber(f[1])
        attempt = tonumber(f[2]) + 1
        kind = attempt > maxAttempts and 'abandon' or 'recover'
      else
        fire = tonumber(f[3])
        attempt = 1
        kind = (f[4] and tonumber(f[4]) >= fire) and 'stale' or 'run'
      end
      local highWater = fire
      if f[4] and tonumber(f[4]) > fire then highWater = tonumber(f[4]) end
      local token = claimant .. ':' .. fence
      local lease = now + leaseMs
      rcall('HSET', hashKey, 'rf', fire, 'at', attempt, 'tk', token, 'lx', lease, 'fc', fence, 'hw', highWater)
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
    end
  end
  out[3] = n
end
local first = rcall('ZRANGE', dueKey, 0, 0, 'WITHSCORES')
if first[2] then out[2] = tonumber(first[2]) end
return out
