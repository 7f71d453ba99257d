--[[
  Declares, for one pod, where a static schedule comes from, atomically: drops the declarations
  whose time to live ran out, reads the other pods' live ones, and (re)writes this pod's until
  ARGV[4] ms from now, unless another live pod declares the schedule from another source (two
  services sharing a keyPrefix: then nothing is written); with ARGV[4] = 0 it removes this pod's.
  Each pod renews its declarations well within their time to live, so a crashed pod's age out.

  KEYS[1] declarations of one static schedule (HASH; field = pod id,
          value = '<expiry ms>\n<source>\n<timing>')
  ARGV[1] pod id (string)
  ARGV[2] source: 'Class.method' of the decorated method (no newline)
  ARGV[3] timing: what the pod declares (opaque string, no newline)
  ARGV[4] time to live (ms); 0 removes this pod's declaration

  Returns { written, pod id, source, timing, ... }: written is 1 when this pod's declaration was
  written (or removed, with ARGV[4] = 0), 0 when another source is live; then the other pods' live
  declarations, three entries each
  Time: redis.call('TIME')
]]
local rcall = redis.call
--- @include "includes/nowMs.lua"

local now = nowMs()
local podId, source, timing, ttl = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local reply = { 1 }
local fields = rcall('HGETALL', KEYS[1])
for i = 1, #fields, 2 do
  local pod, value = fields[i], fields[i + 1]
  local first = string.find(value, '\n', 1, true)
  local second = first and string.find(value, '\n', first + 1, true)
  local expiry = first and tonumber(string.sub(value, 1, first - 1))
  if not second or not expiry or expiry <= now then
    rcall('HDEL', KEYS[1], pod)
  elseif pod ~= podId then
    local other = string.sub(value, first + 1, second - 1)
    reply[#reply + 1] = pod
    reply[#reply + 1] = other
    reply[#reply + 1] = string.sub(value, second + 1)
    if other ~= source then reply[1] = 0 end
  end
end
if ttl == 0 then
  rcall('HDEL', KEYS[1], podId)
  reply[1] = 1
elseif reply[1] == 1 then
  rcall('HSET', KEYS[1], podId, tostring(now + ttl) .. '\n' .. source .. '\n' .. timing)
  -- The hash goes when no pod renews it; it never ends before a declaration it holds.
  if rcall('PTTL', KEYS[1]) < ttl then rcall('PEXPIRE', KEYS[1], ttl) end
end
return reply
