-- Moves a partition's change epoch on and publishes it on the wake channel as
-- '<epoch key> <epoch>', so that pods confirm their runs waiting for a slot again before they
-- start (needs includes/keys.lua first).
local function bumpEpoch(base, channel)
  local key = epochCounter(base)
  rcall('PUBLISH', channel, key .. ' ' .. rcall('INCR', key))
end
