import type { Schedule, ScheduleInput } from '../interfaces/schedule.interface';
import { SchedulerEngine } from '../engine/scheduler.engine';
import { ScheduleStore } from '../engine/schedule.store';
import { RedisConnection } from '../redis/redis-client.provider';
import { InvalidOptionsError } from '../errors/invalid-options.error';
import { decodePolicy } from '../policy/schedule-policy';
import { LiveHandlers } from './live-handlers';
import { validateScheduleInput, ValidatedSchedule, ValidationContext } from './schedule.validator';
import type { StoredScheduleRecord } from '../interfaces/schedule-store.interface';
import { anchoredAt, type StoreFirst } from './store-first';
import { StoredApply, type AppliedCounts } from './stored-apply';

/**
 * The write path of upsert() and upsertMany(): validates every input before anything is written
 * (a handler this process lacks is accepted when a live worker pod declares it), writes them in
 * pipelined batches, wakes the workers for the earliest new due time of each due index, and
 * returns each schedule as stored, or the error Redis refused it with. With a durable store (the
 * module's `store` option) every change is committed there first (StoreFirst), then applied here.
 */
export class ScheduleWrites {
  private readonly liveHandlers: LiveHandlers;
  private readonly storedApply: StoredApply;

  constructor(
    private readonly validation: ValidationContext,
    private readonly store: ScheduleStore,
    private readonly connection: RedisConnection,
    private readonly engine?: SchedulerEngine,
    private readonly durable?: StoreFirst,
  ) {
    this.liveHandlers = new LiveHandlers(connection.client, connection.keys);
    this.storedApply = new StoredApply(store, connection, validation, (due, ms) =>
      this.engine?.notifyDue(due, ms),
    );
  }

  /** Redis made to hold these store rows (the reconciler's way in, see StoredApply). */
  applyStored(
    records: readonly StoredScheduleRecord[],
    liveIds?: ReadonlyMap<string, ReadonlySet<string>>,
  ): Promise<AppliedCounts> {
    return this.storedApply.apply(records, liveIds);
  }

  /** Removes the schedule (from the store first when there is one); true if it existed. */
  remove(tenantId: string, id: string): Promise<boolean> {
    const remove = () => this.store.remove(tenantId, id);
    return this.durable ? this.durable.remove(tenantId, id, remove) : remove();
  }

  /** pause()/resume() of one schedule (in the store first); false if there is no such schedule. */
  setEnabled(tenantId: string, id: string, enabled: boolean): Promise<boolean> {
    const set = () => this.store.setEnabled(tenantId, id, enabled);
    if (!this.durable) return set();
    // Redis may lack the schedule (data loss): then the stored row is applied whole.
    const setOrRestore = async (record: StoredScheduleRecord) =>
      (await set()) || (await this.storedApply.apply([record])).created > 0;
    return this.durable.setEnabled(tenantId, id, enabled, setOrRestore);
  }

  async upsertEach<TPayload>(
    inputs: readonly ScheduleInput[],
  ): Promise<(Schedule<TPayload> | Error)[]> {
    if (!Array.isArray(inputs))
      throw new InvalidOptionsError('schedules', 'pass an array of schedules');
    const validation = await this.withLiveHandlers(inputs);
    const valid = inputs.map((input) => validateScheduleInput(input, validation));
    const keys = inputs.map((input) =>
      this.connection.keys.dynamicSchedule(input.tenantId, input.id, input.handler),
    );
    const defs = valid.map((v, i) => ({
      kind: 'dynamic' as const,
      keys: keys[i],
      tenantId: v.input.tenantId,
      id: v.input.id,
      series: v.timing.series,
      written: v.timing.written,
      jitterMs: v.jitterMs,
      payloadJson: v.payloadJson,
      enabled: v.enabled,
      policyJson: v.policyJson,
    }));
    const durable = this.durable;
    const stored = await this.changing(() =>
      durable
        ? durable.upsert(valid, (is, records) =>
            this.store.writeMany(
              // An interval at the anchor the store keeps (the grid it keeps after a data loss).
              is.map((i, j) => anchoredAt(defs[i], records[j]?.anchorAt)),
              { quota: false },
            ),
          )
        : this.store.writeMany(defs),
    );
    const earliest = new Map<string, number>();
    return stored.map((s, i) => {
      if (s instanceof Error) return s;
      const active = s.enabled && !s.tenantPaused;
      if (active && s.nextDueMs < (earliest.get(keys[i].due) ?? Infinity)) {
        earliest.set(keys[i].due, s.nextDueMs);
        this.engine?.notifyDue(keys[i].due, s.nextDueMs);
      }
      const v = valid[i];
      return {
        tenantId: v.input.tenantId,
        id: v.input.id,
        ...shownTiming(v),
        timeZone: v.timeZone,
        handler: v.input.handler,
        payload: v.payloadJson === '' ? undefined : (JSON.parse(v.payloadJson) as TPayload),
        jitterMs: v.jitterMs,
        enabled: s.enabled,
        state: active ? 'active' : 'paused',
        tenantPaused: s.tenantPaused,
        parked: null,
        nextFireAt: active ? new Date(s.nextFireMs) : null,
        createdAt: new Date(s.createdAtMs),
        updatedAt: new Date(s.updatedAtMs),
        lastFireAt: s.lastFireMs === null ? null : new Date(s.lastFireMs),
        lastStatus: s.lastStatus,
        lastError: s.lastError,
        running: s.running,
        skippedFires: s.skippedFires,
        ...decodePolicy(v.policyJson),
      };
    });
  }

  /** The validation context, also accepting the handlers this process lacks but a live pod runs. */
  private async withLiveHandlers(
    inputs: readonly ScheduleInput<unknown>[],
  ): Promise<ValidationContext> {
    const { hasHandler } = this.validation;
    const missing = inputs
      .map((input) => (input && typeof input === 'object' ? input.handler : undefined))
      .filter((name) => typeof name === 'string' && !hasHandler(name));
    if (missing.length === 0) return this.validation;
    const live = await this.liveHandlers.which(missing);
    return { ...this.validation, hasHandler: (name) => hasHandler(name) || live.has(name) };
  }

  /** Once Redis applied the write (or it failed midway), waiting runs are confirmed again. */
  private async changing<T>(write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } finally {
      this.engine?.noteWrite();
    }
  }
}

/** `cron` (as written and resolved), `every` or `at` as the upsert gave them. */
function shownTiming(
  v: ValidatedSchedule,
): Pick<Schedule, 'cron' | 'resolvedCron' | 'every' | 'at'> {
  const { input, timing } = v;
  if (input.every !== undefined) return { cron: '', resolvedCron: '', every: input.every };
  if (input.at !== undefined) return { cron: '', resolvedCron: '', at: input.at };
  const resolvedCron = 'expression' in timing.series ? timing.series.expression : '';
  return { cron: input.cron ?? '', resolvedCron };
}
