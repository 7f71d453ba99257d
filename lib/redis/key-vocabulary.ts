/**
 * The suffixes of the keys derived from a partition base ('<prefix>:{<tag>}:'), which KeySpace
 * builds and the Lua scripts derive too. The scripts spell each one once, in
 * scripts/includes/keys.lua, as a builder named like its entry here
 * (`local function dueIndex(base, handlerKey) return base .. 'due:' .. handlerKey end`);
 * test/unit/redis/key-vocabulary.spec.ts fails when the two disagree.
 */
export const KEY_SUFFIX = {
  /** HASH of a schedule, or of a detached run record: + member. */
  scheduleHash: 's:',
  /** ZSET of the members due for one handler: + handler key. */
  dueIndex: 'due:',
  /** STRING: the partition's change epoch (see confirmRuns-1.lua). */
  epochCounter: 'ep',
  /** STRING: fencing tokens and incarnation numbers of the partition. */
  fenceCounter: 'fence',
  /** LIST of the partition's dead letters. */
  deadLetters: 'dead',
  /**
   * HASH of a schedule's recorded runs, a ring of `runHistory` slots (completeRuns-1.lua): +
   * member. ('hist:' held a LIST before; a new suffix keeps old lists from failing the script.)
   */
  history: 'rh:',
  /** SET of a tenant's schedule ids: + tenant id. */
  tenantSet: 'tenant:',
  /** ZSET (all scores 0, read by lex) of the partition's tenants that own schedules or are paused. */
  tenantIndex: 'tenants',
  /** STRING set while a tenant is paused (pauseTenant-1.lua): + tenant id; holds the pause's ms. */
  tenantPause: 'tpause:',
  /**
   * SET of a tenant's finished one-off task ids, kept while their hashes wait to expire
   * (completeRuns-1.lua, chain 'f'), so that removeTenant deletes them too: + tenant id.
   */
  tenantFinished: 'tdone:',
  /** SET of the fire times of a schedule's detached run records: + member. */
  detachedRuns: 'runs:',
} as const;

/**
 * Between a schedule's member and the id of a run record: a detached run's fire time (ms), or a
 * triggered run's TRIGGER_ID_PREFIX + number (triggerRun-1.lua).
 */
export const RUN_RECORD_INFIX = ':r:';

/** Starts the record id of a triggered run ('<schedule member>:r:n<number>'). */
export const TRIGGER_ID_PREFIX = 'n';

/** Names under the prefix, outside any partition (no script derives them). */
export const PREFIX_KEY = {
  /** HASH of facts every process must agree on: '<prefix>:meta'. */
  meta: 'meta',
  /** Pub/sub channel of wake-ups: '<prefix>:wake'. */
  wakeChannel: 'wake',
  /** Hash tag of the pod registries: '<prefix>:{pods}:<handler key>'. */
  podRegistries: '{pods}',
  /** Under the same hash tag, declarations of a static: '<prefix>:{pods}:decl:<static name>'. */
  staticDeclarations: 'decl',
  /** A lock: '<prefix>:lock:{<name>}', its fencing counter the same + ':fence'. */
  lock: 'lock',
  lockFence: 'fence',
  /**
   * STRING (JSON) set by the store reconciler after a full pass, with its time and the watermark the
   * last pass reached (lib/reconcile/store-mark.ts); gone = Redis lost data: '<prefix>:store-mark'.
   */
  storeMark: 'store-mark',
} as const;
