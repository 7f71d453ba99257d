-- Detached run records (overlap 'allow') are members '<schedule member>:r:<fire ms>'. Schedule
-- members are 't:<tenant>:<id>' or 'c:<name>', whose parts never hold ':'.
local function runRecordParent(member)
  if not string.find(member, ':r:', 3, true) then return nil end
  return string.match(member, '^(t:[^:]+:[^:]+):r:%d+$') or string.match(member, '^(c:[^:]+):r:%d+$')
end
