--[[
  Hands back, atomically, first attempts of one partition that their owner claimed but will not
  start (a pod shutting down with reservations not yet due, or with claimed runs it never
  started): each run state owned by the given fencing token is cleared, the high-water mark put
  back, and the schedule armed again at its stored next fire time, so another pod claims that
  fire time at once as a first attempt (attempt 1, a new fencing token); one wake message per
  due index on ARGV[1] ('<due index key> <earliest due ms>') tells them.

  KEYS[1] partition base (string, hash-tagged); derives (includes/keys.lua) the HASH
          scheduleHash(KEYS[1], member) and the due index ZSET dueIndex(KEYS[1], <the hash's
          handler field>)
  ARGV[1] wake channel (pub/sub channel name, not a key)
  ARGV[2] number of runs n; then n × 2 fields: member, fencing token

  Returns an array of n codes: 1 handed back, -4 LEASE_LOST (the token no longer owns the run, it
          is no first attempt, or the schedule was removed)
  Time: redis.call('TIME') is not needed: a run owned by its token is handed back whatever the time
]]
local rcall = redis.call
--- @include "includes/keys.lua"
--- @include "includes/runState.lua"
--- @include "includes/cancelRun.lua"

local base = KEYS[1]
local n = tonumber(ARGV[2])
local out, wake = {}, {}
for r = 0, n - 1 do
  local member = ARGV[3 + r * 2]
  local hashKey = scheduleHash(base, member)
  local f = rcall('HMGET', hashKey, 'r', 'h', 'en', 'nf', 'nd')
  local _, attempt, fence, _, prevHw = parseRun(f[1])
  if fence ~= tonumber(ARGV[4 + r * 2]) or attempt ~= 1 then
    out[r + 1] = -4
  else
    cancelRun(base, hashKey, member, prevHw, f[2], f[3], f[4], f[5])
    if f[3] ~= '0' and f[4] then
      local dueKey, due = dueIndex(base, f[2]), tonumber(dueOf(f[4], f[5]))
      if not wake[dueKey] or due < wake[dueKey] then wake[dueKey] = due end
    end
    out[r + 1] = 1
  end
end
for dueKey, due in pairs(wake) do rcall('PUBLISH', ARGV[1], dueKey .. ' ' .. due) end
return out
