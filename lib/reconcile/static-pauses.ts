import type { StaticScheduleSpec } from '../discovery/handler.registry';
import type { ScheduleStore as DurableStore } from '../interfaces/schedule-store.interface';
import type { ScheduleStore as RedisSchedules } from '../engine/schedule.store';
import type { StaticScheduleSync } from '../engine/static-schedule.sync';
import type { RedisConnection } from '../redis/redis-client.provider';

/** The store's lock of the statics (tenant '' never names a tenant; see writeStaticPause). */
const STATICS = [''];

/**
 * The reconciler's repair of this pod's @DistributedCron schedules: a static Redis lacks (it lost
 * its data) is written again, paused when the store holds it paused (pauseStatic), so it never
 * fires meanwhile; a static whose runtime pause in Redis differs from the store's (a pause or
 * resume whose Redis write failed after the commit) is paused or resumed. One pipelined read of
 * the statics per pass; the store's lock only when something is to be repaired.
 */
export class StaticPauses {
  constructor(
    private readonly connection: RedisConnection,
    private readonly redis: RedisSchedules,
    private readonly sync: StaticScheduleSync,
  ) {}

  /** Returns how many statics it wrote again, paused or resumed. */
  async repair(store: DurableStore, specs: readonly StaticScheduleSpec[]): Promise<number> {
    if (specs.length === 0) return 0;
    const wrong = await this.wrong(specs, await this.paused(store));
    if (wrong.length === 0) return 0;
    return store.lockTenants(STATICS, async () => {
      // Read again under the lock: a pauseStatic() may have committed meanwhile.
      const paused = await this.paused(store);
      const repair = await this.wrong(wrong, paused);
      const missing = repair.filter((r) => r.missing).map((r) => r.spec);
      await this.sync.write(missing, paused);
      const { keys } = this.connection;
      for (const { spec } of repair.filter((r) => !r.missing)) {
        const stop = paused.has(spec.name);
        await this.redis.setEnabledAt(keys.staticSchedule(spec.name), !stop, stop);
      }
      return repair.length;
    });
  }

  private async paused(store: DurableStore): Promise<Set<string>> {
    return new Set(store.pausedStatics ? await store.pausedStatics() : []);
  }

  /** The statics Redis lacks, or holds with another runtime pause than `paused` says. */
  private async wrong(
    specs: readonly (StaticScheduleSpec | { spec: StaticScheduleSpec })[],
    paused: ReadonlySet<string>,
  ) {
    const list = specs.map((s) => ('spec' in s ? s.spec : s));
    const { client, keys } = this.connection;
    const pipeline = client.pipeline();
    for (const spec of list) pipeline.hmget(keys.staticSchedule(spec.name).hash, 'h', 'ps');
    const replies = (await pipeline.exec()) ?? [];
    return list.flatMap((spec, i) => {
      const [error, fields] = replies[i] ?? [new Error('no reply'), null];
      if (error) throw error;
      const [handler, runtimePause] = fields as (string | null)[];
      const missing = handler === null;
      const differs = !missing && paused.has(spec.name) !== (runtimePause !== null);
      return missing || differs ? [{ spec, missing }] : [];
    });
  }
}
