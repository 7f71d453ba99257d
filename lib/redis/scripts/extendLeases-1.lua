--[[
  Renews, atomically, the leases of a batch of runs of one partition that their owner still
  holds; with a lease of 0 it gives the runs back instead (their lease ends now, so any pod
  re-claims them at once with attempt + 1).

  KEYS[1] partition base (string, hash-tagged); derives (includes/keys.lua) the HASH
          scheduleHash(KEYS[1], member), a detached run record's schedule HASH
          scheduleHash(KEYS[1], <schedule member>) (the run loses its lease when that is gone) and
          the due index ZSET dueIndex(KEYS[1], <handler field>)
  ARGV[1] lease (ms); 0 gives the runs back
  ARGV[2] number of runs n; then n × 2 fields: member, fencing token

  Returns an array of n values: the new lease expiry ms, or -4 LEASE_LOST (the token no longer
          owns the run, or the schedule was removed), -5 LEASE_EXPIRED (too late: the lease ran out)
  Time: redis.call('TIME')
]]
local rcall = redis.call
--- @include "includes/nowMs.lua"
--- @include "includes/keys.lua"
--- @include "includes/runState.lua"
--- @include "includes/runRecords.lua"

local base = KEYS[1]
local leaseMs = tonumber(ARGV[1])
local n = tonumber(ARGV[2])
local now = nowMs()
local out = {}
local renewed = {}
for r = 0, n - 1 do
  local member = ARGV[3 + r * 2]
  local hashKey = scheduleHash(base, member)
  local f = rcall('HMGET', hashKey, 'r', 'h', 'gn')
  local parent = runRecordParent(member)
  local fire, attempt, fence, lease, prevHw = parseRun(f[1])
  if parent and rcall('HGET', scheduleHash(base, parent), 'gn') ~= f[3] then
    -- the schedule was removed: its detached run loses its lease, and its record goes
    rcall('DEL', hashKey)
    if f[2] then rcall('ZREM', dueIndex(base, f[2]), member) end
    out[r + 1] = -4
  elseif not fire or fence ~= tonumber(ARGV[4 + r * 2]) then
    out[r + 1] = -4
  elseif lease < now then
    out[r + 1] = -5
  else
    local expiry = now + leaseMs
    rcall('HSET', hashKey, 'r', formatRun(fire, attempt, fence, expiry, prevHw))
    local dueKey = dueIndex(base, f[2])
    local list = renewed[dueKey]
    if not list then
      list = {}
      renewed[dueKey] = list
    end
    list[#list + 1] = expiry
    list[#list + 1] = member
    out[r + 1] = expiry
  end
end
for dueKey, list in pairs(renewed) do zaddPairs(dueKey, list, 'XX') end
return out
