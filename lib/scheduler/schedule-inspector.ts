import { InvalidOptionsError } from '../errors/invalid-options.error';
import type { RunRecord } from '../interfaces/run-record.interface';
import type {
  DescribeOptions,
  RunCounters,
  ScheduleDescription,
  StaticScheduleDescription,
  UpcomingFire,
} from '../interfaces/schedule-description.interface';
import { validateIdentifier } from '../redis/identifier';
import type { Schedule, StaticSchedule } from '../interfaces/schedule.interface';
import type { ScheduleStore } from '../engine/schedule.store';
import { toRunRecords, toSchedule, toStaticSchedule } from '../engine/stored-schedule.decoder';
import { upcomingFires } from '../engine/upcoming-fires';
import type { ScheduleKeys } from '../redis/key-space';
import type { RedisConnection } from '../redis/redis-client.provider';
import { ScheduleTiming } from '../time/schedule-timing';

/** The most upcoming fire times and recorded runs describe() returns. */
export const MAX_DESCRIBE_NEXT = 100;
export const MAX_DESCRIBE_LAST = 100;

/** The schedule's runs from a durable store's history (tenant '' for a static); null: none kept. */
export type StoredRuns = (
  tenantId: string,
  id: string,
  limit: number,
) => Promise<RunRecord[] | null>;

interface Described<S> {
  schedule: S;
  nextFires: UpcomingFire[];
  lastRuns: RunRecord[];
  counters: RunCounters;
}

/**
 * describe() and describeStatic(): one pipelined read of the schedule hash (definition, state and
 * counters) and its history, then the upcoming fire times computed in process from the stored
 * timing, as the engine arms them.
 */
export class ScheduleInspector {
  constructor(
    private readonly connection: RedisConnection,
    private readonly store: ScheduleStore,
    /** With a `store` keeping history: lastRuns and historyStatic() read from it. */
    private readonly storedRuns?: StoredRuns,
  ) {}

  async describe<TPayload>(
    tenantId: string,
    id: string,
    options: DescribeOptions | undefined,
  ): Promise<ScheduleDescription<TPayload> | null> {
    validateIdentifier('tenantId', tenantId);
    validateIdentifier('id', id);
    const keys = this.connection.keys.dynamicSchedule(tenantId, id);
    const described = await this.read(keys, options, (hash, now) =>
      toSchedule(hash, tenantId, id, now),
    );
    await this.withStoredRuns(described, tenantId, id, options);
    return described as ScheduleDescription<TPayload> | null;
  }

  async describeStatic(
    name: string,
    options: DescribeOptions | undefined,
  ): Promise<StaticScheduleDescription | null> {
    validateIdentifier('name', name);
    const keys = this.connection.keys.staticSchedule(name);
    const described = await this.read(keys, options, (hash, now) =>
      toStaticSchedule(hash, name, now),
    );
    return this.withStoredRuns(described, '', name, options);
  }

  async historyStatic(name: string, limit: number): Promise<RunRecord[]> {
    validateIdentifier('name', name);
    const stored = await this.storedRuns?.('', name, limit);
    return stored ?? this.store.history(this.connection.keys.staticSchedule(name));
  }

  /** With a store keeping history, lastRuns come from it (it lags the run's end by ~1 s). */
  private async withStoredRuns<D extends { lastRuns: RunRecord[] } | null>(
    described: D,
    tenantId: string,
    id: string,
    options: DescribeOptions | undefined,
  ): Promise<D> {
    if (!described || !this.storedRuns) return described;
    const { last } = describeBounds(options);
    const stored = last === 0 ? [] : await this.storedRuns(tenantId, id, last);
    if (stored) described.lastRuns = stored;
    return described;
  }

  private async read<S extends Schedule | StaticSchedule>(
    keys: ScheduleKeys,
    options: DescribeOptions | undefined,
    decode: (hash: Record<string, string>, nowMs: number) => S | null,
  ): Promise<Described<S> | null> {
    const { next, last } = describeBounds(options);
    const { client } = this.connection;
    const replies = (await client
      .pipeline()
      .hgetall(keys.hash)
      .hgetall(this.connection.keys.history(keys))
      .exec()) ?? [
      [null, {}],
      [null, {}],
    ];
    for (const [error] of replies) if (error) throw error;
    const hash = replies[0][1] as Record<string, string>;
    const now = this.store.clock.now();
    const schedule = decode(hash, now);
    if (!schedule) return null;
    return {
      schedule,
      nextFires: schedule.nextFireAt ? this.nextFires(hash, keys.member, now, next) : [],
      lastRuns: toRunRecords(replies[1][1] as Record<string, string>, last),
      counters: {
        runs: Number(hash.cr ?? 0),
        failures: Number(hash.cf ?? 0),
        skipped: Number(hash.sk ?? 0),
      },
    };
  }

  /** From the stored next fire time while it is still to come, else from the first after now. */
  private nextFires(
    hash: Record<string, string>,
    member: string,
    nowMs: number,
    count: number,
  ): UpcomingFire[] {
    if (count === 0) return [];
    const timing = ScheduleTiming.decode(hash.t);
    const storedFire = Number(hash.nf);
    const storedDue = Number(hash.nd || hash.nf);
    const first =
      storedDue >= nowMs ? storedFire : timing.series.nextAfter(Math.max(nowMs, storedFire));
    return upcomingFires(timing, member, first, count).map((a) => ({
      fireTime: new Date(a.fireMs),
      dueAt: new Date(a.dueMs),
    }));
  }
}

/** Checks describe()'s options: InvalidOptionsError for a count out of bounds. */
function describeBounds(options: DescribeOptions | undefined): { next: number; last: number } {
  if (options !== undefined && (options === null || typeof options !== 'object')) {
    throw new InvalidOptionsError('describe options', 'pass { next?, last? }');
  }
  return {
    next: bounded('next', options?.next, 5, MAX_DESCRIBE_NEXT),
    last: bounded('last', options?.last, 10, MAX_DESCRIBE_LAST),
  };
}

function bounded(name: string, value: unknown, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value > max) {
    throw new InvalidOptionsError(
      name,
      `${JSON.stringify(value)} must be an integer from 0 to ${max}`,
    );
  }
  return value;
}
