-- Detached run records (overlap 'allow') are members '<schedule member>:r:<fire ms>'. Schedule
-- members are 't:<tenant>:<id>' or 'c:<name>', whose parts never hold ':'.
local function runRecordParent(member)
  return string.match(member, '^(t:[^:]+:[^:]+):r:%d+$') or string.match(member, '^(c:[^:]+):r:%d+$')
end

-- A run record is live while its schedule exists as the same incarnation ('gn') it was detached
-- from: a schedule removed and created again under the same id does not adopt old records.
local function parentAlive(parentKey, runKey)
  return (redis.call('HGET', parentKey, 'gn') or '0') == (redis.call('HGET', runKey, 'gn') or '0')
    and redis.call('EXISTS', parentKey) == 1
end
