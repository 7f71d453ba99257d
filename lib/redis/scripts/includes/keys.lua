-- The keys a script derives from a partition base (a hash-tagged KEYS[i], '<prefix>:{<tag>}:'),
-- and the member of a detached run record: the only place the scripts spell a key suffix.
-- lib/redis/key-vocabulary.ts spells the same suffixes for TypeScript, under the same names, and
-- test/unit/redis/key-vocabulary.spec.ts checks that the two agree. Include it before any include
-- that derives a key (cancelRun.lua).
local function scheduleHash(base, member) return base .. 's:' .. member end
local function dueIndex(base, handlerKey) return base .. 'due:' .. handlerKey end
local function epochCounter(base) return base .. 'ep' end
local function fenceCounter(base) return base .. 'fence' end
local function deadLetters(base) return base .. 'dead' end
local function history(base, member) return base .. 'rh:' .. member end
local function tenantSet(base, tenantId) return base .. 'tenant:' .. tenantId end
local function tenantIndex(base) return base .. 'tenants' end
local function tenantPause(base, tenantId) return base .. 'tpause:' .. tenantId end
local function tenantFinished(base, tenantId) return base .. 'tdone:' .. tenantId end
local function detachedRuns(base, member) return base .. 'runs:' .. member end
-- '<schedule member>:r:<fire ms>' (overlap 'allow'); includes/runRecords.lua parses it back.
local function runRecordMember(member, fire) return member .. ':r:' .. fire end
