-- Run records are members '<schedule member>:r:<record id>': a detached run (overlap 'allow'),
-- whose id is its fire ms, or a triggered run (triggerRun-1.lua), whose id is 'n<number>'.
-- Schedule members are 't:<tenant>:<id>' or 'c:<name>', whose parts never hold ':'. Returns the
-- schedule member and the record id (as text) of a run record, or nil for a schedule member. The
-- ids of a schedule's run records are the SET detachedRuns(<partition base>, <schedule member>)
-- (keys.lua).
local function runRecordParent(member)
  if not string.find(member, ':r:', 3, true) then return nil end
  local parent, fire = string.match(member, '^(t:[^:]+:[^:]+):r:(n?%d+)$')
  if parent then return parent, fire end
  return string.match(member, '^(c:[^:]+):r:(n?%d+)$')
end
