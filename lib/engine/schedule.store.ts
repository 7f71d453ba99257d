import { Inject, Injectable } from '@nestjs/common';
import { REDIS_SCHEDULER_OPTIONS } from '../redis-scheduler.constants';
import type { ResolvedSchedulerOptions } from '../interfaces/redis-scheduler-options.interface';
import type { Schedule, StaticSchedule } from '../interfaces/schedule.interface';
import type { DeadLetter } from '../interfaces/dead-letter.interface';
import type { RunRecord } from '../interfaces/run-record.interface';
import { RedisConnection } from '../redis/redis-client.provider';
import type { ScheduleKeys } from '../redis/key-space';
import {
  toDeadLetter,
  toRunRecords,
  toSchedule,
  toStaticSchedule,
} from './stored-schedule.decoder';
import { anchorInterval, type FireSeries } from '../time/fire-series';
import {
  toResult,
  upsertCall,
  type StoredDefinition,
  type WriteResult,
} from './schedule-write-plan';

export type { StoredDefinition, WriteResult } from './schedule-write-plan';
import { RedisClock } from '../time/redis-clock';
import { ScheduleTiming } from '../time/schedule-timing';
import { withJitter } from './fire-planner';

/** Schedules upserted by one script call (each atomically, in order). */
const UPSERT_BATCH = 250;
/** Script calls sent in one pipeline. */
const BATCHES_PER_PIPELINE = 4;
/** Upsert pipelines sent before the first answers. */
const WRITES_IN_FLIGHT = 3;
/** Tries of a resume whose timing changed between its read and its write. */
const RESUME_TRIES = 5;

/**
 * Reads and writes schedule hashes through the scripts. The hash fields are listed, and decoded,
 * in stored-schedule.decoder.ts; the writer stores 't' (ScheduleTiming) and 'cw' (the cron as
 * written beside the timing's, when the two differ).
 */
@Injectable()
export class ScheduleStore {
  constructor(
    private readonly connection: RedisConnection,
    readonly clock: RedisClock,
    @Inject(REDIS_SCHEDULER_OPTIONS) private readonly options: ResolvedSchedulerOptions,
  ) {}

  async write(def: StoredDefinition): Promise<WriteResult> {
    const [result] = await this.writeMany([def]);
    if (result instanceof Error) throw result;
    return result;
  }

  /**
   * Writes many schedules with one TIME sample, in batches per partition (one script call of
   * UPSERT_BATCH schedules each, several calls per pipeline, a few pipelines in flight). Each
   * upsert stays atomic on its own; an entry is the result or the error (a guard refusal as a
   * SchedulerError) of that schedule. `quota: false`: the durable store enforced the quota.
   */
  async writeMany(
    defs: readonly StoredDefinition[],
    { quota = true }: { quota?: boolean } = {},
  ): Promise<(WriteResult | Error)[]> {
    const now = await this.clock.fresh();
    const series = await this.anchor(defs, now);
    const results: (WriteResult | Error)[] = new Array(defs.length);
    const groups = new Map<number, number[]>();
    defs.forEach((def, i) => {
      // Statics and dynamics never share a batch: only dynamic schedules have tenant guards.
      const group = def.keys.partition * 2 + (def.kind === 'static' ? 1 : 0);
      const indexes = groups.get(group);
      if (indexes) indexes.push(i);
      else groups.set(group, [i]);
    });
    const pipelines: number[][][] = [];
    const perPipeline = UPSERT_BATCH * BATCHES_PER_PIPELINE;
    for (const indexes of groups.values()) {
      for (let start = 0; start < indexes.length; start += perPipeline) {
        const slice = indexes.slice(start, start + perPipeline);
        const batches: number[][] = [];
        for (let b = 0; b < slice.length; b += UPSERT_BATCH)
          batches.push(slice.slice(b, b + UPSERT_BATCH));
        pipelines.push(batches);
      }
    }
    // A few pipelines in flight, so this process builds the next while Redis runs the last.
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < pipelines.length) {
        const batches = pipelines[next++];
        const first = defs[batches[0][0]];
        const replies = await this.connection.scripts.upsertSchedules(
          first.keys.base,
          this.guardsFor(first, quota),
          batches.map((batch) => batch.map((i) => upsertCall(defs[i], series[i], now))),
        );
        batches.forEach((batch, b) => {
          const reply = replies[b];
          batch.forEach((defIndex, j) => {
            results[defIndex] =
              reply instanceof Error
                ? reply
                : toResult(defs[defIndex], reply.replies[j], reply.nowMs);
          });
        });
      }
    };
    await Promise.all(Array.from({ length: Math.min(WRITES_IN_FLIGHT, pipelines.length) }, worker));
    return results;
  }

  private guardsFor(def: StoredDefinition, quota: boolean) {
    const guards = this.options.tenantGuards;
    const dynamic = def.kind === 'dynamic';
    return {
      maxPerTenant: dynamic && quota ? guards.maxSchedulesPerTenant : 0,
      maxPayloadBytes: dynamic ? guards.maxPayloadBytes : 0,
      wakeChannel: this.connection.keys.wakeChannel,
    };
  }

  /**
   * Each definition's series; an interval keeps the anchor its stored timing has when `every` is
   * unchanged (one read, for intervals only), else it is anchored now. Two upserts racing may
   * both anchor now: the last one written stands, consistent with its own next fire time.
   */
  private async anchor(defs: readonly StoredDefinition[], now: number): Promise<FireSeries[]> {
    const intervals = defs.flatMap((d, i) => ('everyMs' in d.series ? [i] : []));
    const stored = new Map<number, string | null>();
    if (intervals.length > 0) {
      const pipeline = this.connection.client.pipeline();
      for (const i of intervals) pipeline.hget(defs[i].keys.hash, 't');
      const replies = (await pipeline.exec()) ?? [];
      intervals.forEach((i, j) => {
        const [error, value] = replies[j] ?? [null, null];
        if (error) throw error;
        stored.set(i, typeof value === 'string' ? value : null);
      });
    }
    return defs.map((d, i) => anchorInterval(d.series, stored.get(i) ?? null, now));
  }

  async remove(tenantId: string, id: string): Promise<boolean> {
    const keys = this.connection.keys.dynamicSchedule(tenantId, id);
    return this.connection.scripts.removeSchedule(keys, id, this.connection.keys.wakeChannel);
  }

  /** Pauses (enabled false) or resumes; false when there is no such schedule. */
  async setEnabled(tenantId: string, id: string, enabled: boolean): Promise<boolean> {
    return this.setEnabledAt(this.connection.keys.dynamicSchedule(tenantId, id), enabled, false);
  }

  /**
   * Pauses or resumes the schedule at `keys`; `runtime` marks a pause that a pod declaring the
   * schedule again at boot keeps (pauseStatic). False when there is no such schedule.
   */
  async setEnabledAt(keys: ScheduleKeys, enabled: boolean, runtime: boolean): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      let first = { fireMs: 0, dueMs: 0 };
      let timing = '';
      if (enabled) {
        const stored = await this.connection.client.hget(keys.hash, 't');
        if (stored === null) return false;
        timing = stored;
        const t = ScheduleTiming.decode(timing);
        const from = t.series.firstFrom(await this.clock.fresh());
        first = withJitter(t.series, keys.member, t.jitterMs, from);
      }
      const reply = await this.connection.scripts.setEnabled(
        keys,
        { enabled, nextFireMs: first.fireMs, nextDueMs: first.dueMs, timing, runtime },
        this.connection.keys.wakeChannel,
      );
      if (reply.status === 'changed') {
        // An upsert changed the timing between the read and the write: compute again from it.
        if (attempt < RESUME_TRIES) continue;
        throw reply.error;
      }
      return reply.status === 'done';
    }
  }

  /** Dead letters, newest first: of one tenant (its partition), or of every partition. */
  async deadLetters(tenantId?: string): Promise<DeadLetter[]> {
    const { client, keys } = this.connection;
    const partitions =
      tenantId === undefined ? keys.partitionBases.map((_, p) => p) : [keys.partitionOf(tenantId)];
    const lists = await Promise.all(
      partitions.map((p) => client.lrange(keys.deadLetters(p), 0, -1)),
    );
    const letters = lists
      .flat()
      .map(toDeadLetter)
      .filter((letter) => tenantId === undefined || letter.tenantId === tenantId);
    return letters.sort((a, b) => b.failedAt.getTime() - a.failedAt.getTime());
  }

  /**
   * The recorded runs of a schedule (its keys), newest first, at most `limit` (empty unless the
   * runHistory option is on).
   */
  async history(
    keys: ScheduleKeys,
    limit = this.options.runHistory || Infinity,
  ): Promise<RunRecord[]> {
    const { client } = this.connection;
    return toRunRecords(await client.hgetall(this.connection.keys.history(keys)), limit);
  }

  async clearDeadLetters(tenantId?: string): Promise<number> {
    const { keys, scripts } = this.connection;
    const partitions =
      tenantId === undefined ? keys.partitionBases.map((_, p) => p) : [keys.partitionOf(tenantId)];
    const cleared = await Promise.all(
      partitions.map((p) => scripts.clearDeadLetters(keys.deadLetters(p), tenantId ?? '')),
    );
    return cleared.reduce((sum, n) => sum + Number(n), 0);
  }

  async getStatic(name: string): Promise<StaticSchedule | null> {
    const hash = await this.connection.client.hgetall(
      this.connection.keys.staticSchedule(name).hash,
    );
    return toStaticSchedule(hash, name, this.clock.now());
  }

  async get(tenantId: string, id: string): Promise<Schedule | null> {
    const keys = this.connection.keys.dynamicSchedule(tenantId, id);
    return toSchedule(
      await this.connection.client.hgetall(keys.hash),
      tenantId,
      id,
      this.clock.now(),
    );
  }

  async list(tenantId: string): Promise<Schedule[]> {
    const { client, keys } = this.connection;
    const ids = await client.smembers(keys.tenantSet(tenantId));
    if (ids.length === 0) return [];
    const pipeline = client.pipeline();
    for (const id of ids) pipeline.hgetall(keys.dynamicSchedule(tenantId, id).hash);
    const replies = (await pipeline.exec()) ?? [];
    const schedules: Schedule[] = [];
    const now = this.clock.now();
    replies.forEach(([error, hash], i) => {
      if (error) throw error;
      const schedule = toSchedule(hash as Record<string, string>, tenantId, ids[i], now);
      if (schedule) schedules.push(schedule);
    });
    return schedules.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }
}
