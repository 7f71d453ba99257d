-- Detached run records (overlap 'allow') are members '<schedule member>:r:<fire ms>'. Schedule
-- members are 't:<tenant>:<id>' or 'c:<name>', whose parts never hold ':'. Returns the schedule
-- member and the fire ms (as text) of a run record, or nil for a schedule member. The fire times
-- of a schedule's run records are the SET detachedRuns(<partition base>, <schedule member>) (keys.lua).
local function runRecordParent(member)
  if not string.find(member, ':r:', 3, true) then return nil end
  local parent, fire = string.match(member, '^(t:[^:]+:[^:]+):r:(%d+)$')
  if parent then return parent, fire end
  return string.match(member, '^(c:[^:]+):r:(%d+)$')
end
