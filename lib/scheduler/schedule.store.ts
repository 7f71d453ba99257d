import { Inject, Injectable } from '@nestjs/common';
import { REDIS_SCHEDULER_OPTIONS } from '../redis-scheduler.constants';
import type { ResolvedSchedulerOptions } from '../interfaces/redis-scheduler-options.interface';
import type { RunStatus, Schedule, StaticSchedule } from '../interfaces/schedule.interface';
import type { DeadLetter } from '../interfaces/dead-letter.interface';
import type { RunRecord } from '../interfaces/run-record.interface';
import { toSchedulerError, ScriptCode } from '../errors/script-codes';
import { RedisConnection } from '../redis/redis-client.provider';
import type { ScheduleKeys } from '../redis/key-space';
import { armAfter } from '../engine/fire-planner';
import { decodePolicy } from '../engine/schedule-policy';
import { CronSchedule } from '../time/cron';
import { RedisClock } from '../time/redis-clock';

/** Upserts sent in one pipeline. */
const WRITE_CHUNK = 1_000;
/** Upsert pipelines sent before the first answers. */
const WRITES_IN_FLIGHT = 3;

/** A schedule as the writer stores it, validated beforehand. */
export interface StoredDefinition {
  kind: 'static' | 'dynamic';
  keys: ScheduleKeys;
  tenantId: string;
  id: string;
  cron: CronSchedule;
  jitterMs: number;
  payloadJson: string;
  enabled: boolean;
  /** The schedule's own policy fields (JSON), '' for none. */
  policyJson: string;
}

export interface WriteResult {
  created: boolean;
  nextFireMs: number;
  nextDueMs: number;
  createdAtMs: number;
  updatedAtMs: number;
  enabled: boolean;
  lastFireMs: number | null;
  lastStatus: RunStatus | null;
  lastError: string | null;
  running: boolean;
  skippedFires: number;
}

/** Reads and writes schedule hashes through the scripts; the one place that knows their fields. */
@Injectable()
export class ScheduleStore {
  constructor(
    private readonly connection: RedisConnection,
    private readonly clock: RedisClock,
    @Inject(REDIS_SCHEDULER_OPTIONS) private readonly options: ResolvedSchedulerOptions,
  ) {}

  async write(def: StoredDefinition): Promise<WriteResult> {
    const [result] = await this.writeMany([def]);
    if (result instanceof Error) throw result;
    return result;
  }

  /**
   * Writes many schedules with one TIME sample and one pipelined round trip per partition (in
   * chunks). Each upsert stays atomic on its own; an entry is the result or the error (a guard
   * refusal as a SchedulerError) of that schedule.
   */
  async writeMany(defs: readonly StoredDefinition[]): Promise<(WriteResult | Error)[]> {
    const now = await this.clock.fresh();
    const results: (WriteResult | Error)[] = new Array(defs.length);
    const byPartition = new Map<number, number[]>();
    defs.forEach((def, i) => {
      const group = byPartition.get(def.keys.partition);
      if (group) group.push(i);
      else byPartition.set(def.keys.partition, [i]);
    });
    const chunks: number[][] = [];
    for (const indexes of byPartition.values()) {
      for (let start = 0; start < indexes.length; start += WRITE_CHUNK) {
        chunks.push(indexes.slice(start, start + WRITE_CHUNK));
      }
    }
    // A few pipelines in flight, so this process builds the next while Redis runs the last.
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < chunks.length) {
        const chunk = chunks[next++];
        const replies = await this.connection.scripts.upsertSchedules(
          chunk.map((i) => this.upsertCall(defs[i], now)),
        );
        chunk.forEach(
          (defIndex, j) => (results[defIndex] = this.toResult(defs[defIndex], replies[j])),
        );
      }
    };
    await Promise.all(Array.from({ length: Math.min(WRITES_IN_FLIGHT, chunks.length) }, worker));
    return results;
  }

  private upsertCall(
    def: StoredDefinition,
    now: number,
  ): { keys: string[]; args: (string | number)[] } {
    const first = armAfter(def.cron, def.keys.member, def.jitterMs, now);
    const guards = this.options.tenantGuards;
    const dynamic = def.kind === 'dynamic';
    return {
      keys: [def.keys.hash, def.keys.due, def.keys.tenantSet, def.keys.base],
      args: [
        dynamic ? 't' : 'c',
        def.tenantId,
        def.id,
        def.keys.handlerKey,
        def.cron.expression,
        def.cron.timeZone,
        def.jitterMs,
        def.payloadJson,
        def.enabled ? '1' : '0',
        first.fireMs,
        first.dueMs,
        dynamic ? guards.maxSchedulesPerTenant : 0,
        dynamic ? guards.maxPayloadBytes : 0,
        this.connection.keys.wakeChannel,
        def.keys.member,
        def.policyJson,
      ],
    };
  }

  private toResult(def: StoredDefinition, reply: (string | number)[] | Error): WriteResult | Error {
    if (reply instanceof Error) return reply;
    const code = Number(reply[0]);
    if (code < 0) {
      const guards = this.options.tenantGuards;
      const limit =
        code === ScriptCode.TENANT_QUOTA_EXCEEDED
          ? guards.maxSchedulesPerTenant
          : guards.maxPayloadBytes;
      return toSchedulerError(code, { tenantId: def.tenantId, limit, detail: Number(reply[1]) });
    }
    return {
      created: code === 1,
      nextFireMs: Number(reply[1]),
      nextDueMs: Number(reply[2]),
      createdAtMs: Number(reply[3]),
      updatedAtMs: Number(reply[4]),
      enabled: Number(reply[5]) === 1,
      lastFireMs: reply[6] ? Number(reply[6]) : null,
      lastStatus: toStatus(String(reply[7])),
      lastError: reply[8] ? String(reply[8]) : null,
      running: Number(reply[9]) === 1,
      skippedFires: Number(reply[10] ?? 0),
    };
  }

  async remove(tenantId: string, id: string): Promise<boolean> {
    const keys = this.connection.keys.dynamicSchedule(tenantId, id);
    const removed = await this.connection.scripts.removeSchedule(
      [keys.hash, keys.tenantSet, keys.base],
      [id, keys.member],
    );
    return removed === 1;
  }

  /** Pauses (enabled false) or resumes; false when there is no such schedule. */
  async setEnabled(tenantId: string, id: string, enabled: boolean): Promise<boolean> {
    const keys = this.connection.keys.dynamicSchedule(tenantId, id);
    let first = { fireMs: 0, dueMs: 0 };
    if (enabled) {
      const raw = await this.connection.client.hmget(keys.hash, 'cr', 'tz', 'j');
      if (raw[0] === null) return false;
      const cron = CronSchedule.of(raw[0], raw[1] ?? 'UTC');
      first = armAfter(cron, keys.member, Number(raw[2] ?? 0), await this.clock.fresh());
    }
    const reply = await this.connection.scripts.setEnabled(
      [keys.hash, keys.base],
      [
        enabled ? '1' : '0',
        first.fireMs,
        first.dueMs,
        this.connection.keys.wakeChannel,
        keys.member,
      ],
    );
    return Number(reply[0]) === 1;
  }

  /** Dead letters, newest first: of one tenant (its partition), or of every partition. */
  async deadLetters(tenantId?: string): Promise<DeadLetter[]> {
    const { client, keys } = this.connection;
    const partitions =
      tenantId === undefined ? keys.partitionBases.map((_, p) => p) : [keys.partitionOf(tenantId)];
    const lists = await Promise.all(
      partitions.map((p) => client.lrange(keys.deadLetters(p), 0, -1)),
    );
    const letters: DeadLetter[] = [];
    for (const entry of lists.flat()) {
      const raw = JSON.parse(entry) as Omit<DeadLetter, 'fireTime' | 'failedAt'> & {
        fireTime: string;
        failedAt: string;
      };
      if (tenantId !== undefined && raw.tenantId !== tenantId) continue;
      letters.push({ ...raw, fireTime: new Date(raw.fireTime), failedAt: new Date(raw.failedAt) });
    }
    return letters.sort((a, b) => b.failedAt.getTime() - a.failedAt.getTime());
  }

  /** The schedule's recorded runs, newest first (empty unless the runHistory option is on). */
  async history(tenantId: string, id: string): Promise<RunRecord[]> {
    const { client, keys } = this.connection;
    const entries = await client.lrange(keys.history(keys.dynamicSchedule(tenantId, id)), 0, -1);
    return entries.map((entry) => {
      const [fire, attempt, fence, status, endedAt] = entry.split(',');
      return {
        fireTime: new Date(Number(fire)),
        attempt: Number(attempt),
        fencingToken: Number(fence),
        status: status as RunRecord['status'],
        endedAt: new Date(Number(endedAt)),
      };
    });
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
    return toStaticSchedule(
      await this.connection.client.hgetall(this.connection.keys.staticSchedule(name).hash),
    );
  }

  async get(tenantId: string, id: string): Promise<Schedule | null> {
    const keys = this.connection.keys.dynamicSchedule(tenantId, id);
    return toSchedule(await this.connection.client.hgetall(keys.hash));
  }

  async list(tenantId: string): Promise<Schedule[]> {
    const { client, keys } = this.connection;
    const ids = await client.smembers(keys.tenantSet(tenantId));
    if (ids.length === 0) return [];
    const pipeline = client.pipeline();
    for (const id of ids) pipeline.hgetall(keys.dynamicSchedule(tenantId, id).hash);
    const replies = (await pipeline.exec()) ?? [];
    const schedules: Schedule[] = [];
    for (const [error, hash] of replies) {
      if (error) throw error;
      const schedule = toSchedule(hash as Record<string, string>);
      if (schedule) schedules.push(schedule);
    }
    return schedules.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }
}

function toSchedule(hash: Record<string, string>): Schedule | null {
  if (!hash || hash.k !== 't') return null;
  return {
    tenantId: hash.tn,
    id: hash.id,
    handler: hash.h.slice(2),
    payload: hash.p ? (JSON.parse(hash.p) as unknown) : undefined,
    ...stateOf(hash),
  };
}

function toStaticSchedule(hash: Record<string, string>): StaticSchedule | null {
  if (!hash || hash.k !== 'c') return null;
  return { name: hash.id, ...stateOf(hash) };
}

/** What static and dynamic schedules share: timing, policy, and the last run. */
function stateOf(hash: Record<string, string>) {
  const enabled = hash.en === '1';
  return {
    cron: hash.cr,
    timeZone: hash.tz,
    jitterMs: Number(hash.j),
    enabled,
    nextFireAt: enabled ? new Date(Number(hash.nf)) : null,
    createdAt: new Date(Number(hash.ca)),
    updatedAt: new Date(Number(hash.ua)),
    lastFireAt: hash.lf ? new Date(Number(hash.lf)) : null,
    lastStatus: toStatus(hash.ls),
    lastError: hash.lm ? hash.lm : null,
    running: Boolean(hash.rf) && Boolean(hash.tk),
    skippedFires: Number(hash.sk ?? 0),
    ...decodePolicy(hash.po ?? ''),
  };
}

function toStatus(value: string | undefined): RunStatus | null {
  return value === 'succeeded' || value === 'failed' ? value : null;
}
