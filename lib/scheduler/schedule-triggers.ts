import type { ResolvedSchedulerOptions } from '../interfaces/redis-scheduler-options.interface';
import type { StaticSchedule } from '../interfaces/schedule.interface';
import type { TriggerResult } from '../interfaces/trigger-result.interface';
import type { SchedulerEngine } from '../engine/scheduler.engine';
import type { ScheduleStore } from '../engine/schedule.store';
import type { ScheduleKeys } from '../redis/key-space';
import type { RedisConnection } from '../redis/redis-client.provider';
import type { StoreFirst } from './store-first';

/**
 * Operations on a schedule beside its definition: trigger one extra run now (trigger,
 * triggerStatic), and pause or resume a @DistributedCron at runtime (pauseStatic, resumeStatic).
 * SchedulerService validates identifiers and delegates here.
 *
 * A trigger is one atomic script (triggerRun-1.lua): a run record due now, which the engine claims,
 * leases, retries and records like any run, while the schedule's series (next fire time,
 * exactly-once mark) stays as it was. A schedule never triggered costs nothing more per run.
 */
export class ScheduleTriggers {
  constructor(
    private readonly options: ResolvedSchedulerOptions,
    private readonly store: ScheduleStore,
    private readonly connection: RedisConnection,
    private readonly engine: SchedulerEngine | undefined,
    private readonly durable?: StoreFirst,
  ) {}

  /** One extra run of the schedule at `keys`; null when there is no such schedule. */
  async trigger(keys: ScheduleKeys): Promise<TriggerResult | null> {
    const { scripts, keys: keySpace } = this.connection;
    const reply = await scripts.triggerRun(
      keys,
      this.options.defaultPolicy.overlap,
      keySpace.wakeChannel,
    );
    if (reply.status === 'not-found') return null;
    if (reply.status === 'refused') return { triggered: false, reason: reply.reason };
    return {
      triggered: true,
      fireTime: new Date(reply.fireMs),
      idempotencyKey: `${keys.member}@${reply.fireMs}:${reply.id}`,
    };
  }

  /**
   * Pauses (`enabled` false) or resumes the @DistributedCron `name`: a pause made here is kept when
   * pods declare the static again at boot; a resume re-arms it from now, as resume() does. Null
   * when no pod has declared it. With a store that keeps static pauses, committed there first
   * (nothing is written for a static no pod has declared).
   */
  async setStaticEnabled(name: string, enabled: boolean): Promise<StaticSchedule | null> {
    const durable = this.durable;
    if (!durable?.store.writeStaticPause) return this.applyStatic(name, enabled);
    if (!(await this.store.getStatic(name))) return null;
    return durable.staticPause(name, !enabled, () => this.applyStatic(name, enabled));
  }

  private async applyStatic(name: string, enabled: boolean): Promise<StaticSchedule | null> {
    const keys = this.connection.keys.staticSchedule(name);
    if (!(await this.store.setEnabledAt(keys, enabled, !enabled))) return null;
    const schedule = await this.store.getStatic(name);
    if (schedule?.enabled && schedule.nextFireAt) {
      this.engine?.notifyDue(keys.due, schedule.nextFireAt.getTime());
    }
    return schedule;
  }
}
