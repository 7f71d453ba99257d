import { Inject, Injectable } from '@nestjs/common';
import { REDIS_SCHEDULER_OPTIONS } from '../redis-scheduler.constants';
import type { ResolvedSchedulerOptions } from '../interfaces/redis-scheduler-options.interface';
import type {
  ParkedInfo,
  RunStatus,
  Schedule,
  ScheduleState,
  StaticSchedule,
} from '../interfaces/schedule.interface';
import type { DeadLetter } from '../interfaces/dead-letter.interface';
import type { RunRecord } from '../interfaces/run-record.interface';
import { RedisConnection } from '../redis/redis-client.provider';
import type { ScheduleKeys } from '../redis/key-space';
import type { UpsertCall, UpsertReply } from '../redis/protocol/schedule-write.types';
import { armAfter } from './fire-planner';
import { decodePolicy } from '../policy/schedule-policy';
import { usesHashes, type CronSchedule } from '../time/cron';
import { ScheduleTiming } from '../time/schedule-timing';
import { RedisClock } from '../time/redis-clock';

/** Schedules upserted by one script call (each atomically, in order). */
const UPSERT_BATCH = 250;
/** Script calls sent in one pipeline. */
const BATCHES_PER_PIPELINE = 4;
/** Upsert pipelines sent before the first answers. */
const WRITES_IN_FLIGHT = 3;
/** Tries of a resume whose timing changed between its read and its write. */
const RESUME_TRIES = 5;

/** A schedule as the writer stores it, validated beforehand. */
export interface StoredDefinition {
  kind: 'static' | 'dynamic';
  keys: ScheduleKeys;
  tenantId: string;
  id: string;
  /** The cron with its `H` resolved: what the timing stores and every pod fires on. */
  cron: CronSchedule;
  /** The cron as the user wrote it (kept beside the timing when it differs: it held `H`). */
  writtenCron: string;
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

/**
 * Reads and writes schedule hashes through the scripts; the one place that knows their fields:
 * h handler key, t timing ('<cron>|<zone>|<jitter>', its cron with `H` resolved), cw the cron as
 * written when it differs from the timing's ('<written>|<timing's cron>', so that a timing an older
 * version rewrote is not shown with it), p payload, po policy, en '0' while paused,
 * nf next fire, nd next due (when not nf), rv revision, ca / ua created / updated at (ua from the
 * first update on), gn incarnation, r run state and exactly-once mark (includes/runState.lua),
 * l last run ('<outcome>:<fire>:<ended>'), lm last error, sk fire times skipped. A field at its default is
 * absent (or '').
 */
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
   * Writes many schedules with one TIME sample, in batches per partition (one script call of
   * UPSERT_BATCH schedules each, several calls per pipeline, a few pipelines in flight). Each
   * upsert stays atomic on its own; an entry is the result or the error (a guard refusal as a
   * SchedulerError) of that schedule.
   */
  async writeMany(defs: readonly StoredDefinition[]): Promise<(WriteResult | Error)[]> {
    const now = await this.clock.fresh();
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
          this.guardsFor(first),
          batches.map((batch) => batch.map((i) => this.upsertCall(defs[i], now))),
        );
        batches.forEach((batch, b) => {
          const reply = replies[b];
          batch.forEach((defIndex, j) => {
            results[defIndex] =
              reply instanceof Error
                ? reply
                : this.toResult(defs[defIndex], reply.replies[j], reply.nowMs);
          });
        });
      }
    };
    await Promise.all(Array.from({ length: Math.min(WRITES_IN_FLIGHT, pipelines.length) }, worker));
    return results;
  }

  private guardsFor(def: StoredDefinition) {
    const guards = this.options.tenantGuards;
    const dynamic = def.kind === 'dynamic';
    return {
      maxPerTenant: dynamic ? guards.maxSchedulesPerTenant : 0,
      maxPayloadBytes: dynamic ? guards.maxPayloadBytes : 0,
      wakeChannel: this.connection.keys.wakeChannel,
    };
  }

  private upsertCall(def: StoredDefinition, now: number): UpsertCall {
    const first = armAfter(def.cron, def.keys.member, def.jitterMs, now);
    return {
      member: def.keys.member,
      id: def.id,
      handlerKey: def.keys.handlerKey,
      timing: ScheduleTiming.of(def.cron, def.jitterMs).stored,
      payload: def.payloadJson,
      policy: def.policyJson,
      enabled: def.enabled,
      nextFireMs: first.fireMs,
      nextDueMs: first.dueMs,
      written:
        def.writtenCron === def.cron.expression ? '' : `${def.writtenCron}|${def.cron.expression}`,
    };
  }

  private toResult(def: StoredDefinition, reply: UpsertReply, nowMs: number): WriteResult | Error {
    if (reply.status === 'refused') return reply.error;
    const last = parseLast(reply.last);
    return {
      created: reply.status === 'created',
      nextFireMs: reply.nextFireMs,
      nextDueMs: reply.nextDueMs,
      createdAtMs: reply.createdAtMs,
      updatedAtMs: nowMs,
      enabled: def.enabled,
      lastFireMs: last.fireMs,
      lastStatus: last.status,
      lastError: reply.lastError === '' ? null : reply.lastError,
      running: reply.running,
      skippedFires: reply.skippedFires,
    };
  }

  async remove(tenantId: string, id: string): Promise<boolean> {
    const keys = this.connection.keys.dynamicSchedule(tenantId, id);
    return this.connection.scripts.removeSchedule(keys, id, this.connection.keys.wakeChannel);
  }

  /** Pauses (enabled false) or resumes; false when there is no such schedule. */
  async setEnabled(tenantId: string, id: string, enabled: boolean): Promise<boolean> {
    const keys = this.connection.keys.dynamicSchedule(tenantId, id);
    for (let attempt = 1; ; attempt++) {
      let first = { fireMs: 0, dueMs: 0 };
      let timing = '';
      if (enabled) {
        const stored = await this.connection.client.hget(keys.hash, 't');
        if (stored === null) return false;
        timing = stored;
        const t = ScheduleTiming.decode(timing);
        first = armAfter(t.cron, keys.member, t.jitterMs, await this.clock.fresh());
      }
      const reply = await this.connection.scripts.setEnabled(
        keys,
        { enabled, nextFireMs: first.fireMs, nextDueMs: first.dueMs, timing },
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
    const hash = await this.connection.client.hgetall(
      this.connection.keys.staticSchedule(name).hash,
    );
    if (!isSchedule(hash)) return null;
    return { name, ...stateOf(hash, this.clock.now()) };
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

function isSchedule(hash: Record<string, string> | null): hash is Record<string, string> {
  return Boolean(hash && hash.h && hash.t);
}

function toSchedule(
  hash: Record<string, string>,
  tenantId: string,
  id: string,
  nowMs: number,
): Schedule | null {
  if (!isSchedule(hash) || !hash.h.startsWith('h:')) return null;
  return {
    tenantId,
    id,
    handler: hash.h.slice(2),
    payload: hash.p ? (JSON.parse(hash.p) as unknown) : undefined,
    ...stateOf(hash, nowMs),
  };
}

/** What static and dynamic schedules share: timing, policy, and the last run. */
function stateOf(hash: Record<string, string>, nowMs: number) {
  const enabled = hash.en !== '0';
  const parked = parseParked(hash.pk);
  const state: ScheduleState = parked ? 'parked' : enabled ? 'active' : 'paused';
  const timing = splitTiming(hash.t);
  const last = parseLast(hash.l ?? '');
  const resolvedCron = usesHashes(timing.cron) ? legacyCron(hash.t) : timing.cron;
  const nextDue = Number(hash.nd || hash.nf);
  const [fire, attempt, fence] = (hash.r ?? '').split(':').map(Number);
  return {
    cron: writtenCron(hash.cw ?? '', timing.cron),
    resolvedCron,
    timeZone: timing.timeZone,
    jitterMs: timing.jitterMs,
    enabled,
    state,
    parked,
    nextFireAt: enabled ? new Date(Number(hash.nf)) : null,
    createdAt: new Date(Number(hash.ca)),
    updatedAt: new Date(Number(hash.ua ?? hash.ca)),
    lastFireAt: last.fireMs === null ? null : new Date(last.fireMs),
    lastStatus: last.status,
    lastError: hash.lm ? hash.lm : null,
    // Owned (fence > 0) and started: a reservation claimed ahead of its due time is not running yet.
    running: fence > 0 && attempt > 0 && (fire !== Number(hash.nf) || nextDue <= nowMs),
    skippedFires: Number(hash.sk ?? 0),
    ...decodePolicy(hash.po ?? ''),
  };
}

/**
 * The cron as written, kept in 'cw' as '<written>|<timing's cron>' when the two differ; ignored
 * unless it was written for this timing (a version before `cw` rewrites only 't').
 */
function writtenCron(stored: string, timingCron: string): string {
  const at = stored.lastIndexOf('|');
  return at >= 0 && stored.slice(at + 1) === timingCron ? stored.slice(0, at) : timingCron;
}

/**
 * The fire-on expression of a timing stored before `H` was resolved at upsert (it still holds
 * `H`), as the pods draw it; the stored text if it cannot be decoded.
 */
function legacyCron(stored: string): string {
  try {
    return ScheduleTiming.decode(stored).cron.expression;
  } catch {
    return splitTiming(stored).cron;
  }
}

/** The parts of a stored timing, as text (decoding the cron is not needed to show it). */
function splitTiming(stored: string): { cron: string; timeZone: string; jitterMs: number } {
  const last = stored.lastIndexOf('|');
  const zoneAt = stored.lastIndexOf('|', last - 1);
  return {
    cron: stored.slice(0, zoneAt),
    timeZone: stored.slice(zoneAt + 1, last),
    jitterMs: Number(stored.slice(last + 1)) || 0,
  };
}

/** 'pk' is '<parked at ms>:<reason>' (completeRuns-1.lua, chain 'p'). */
function parseParked(stored: string | undefined): ParkedInfo | null {
  if (!stored) return null;
  const colon = stored.indexOf(':');
  return { at: new Date(Number(stored.slice(0, colon))), reason: stored.slice(colon + 1) };
}

function parseLast(stored: string): { status: RunStatus | null; fireMs: number | null } {
  if (stored === '') return { status: null, fireMs: null };
  const [outcome, fire] = stored.split(':');
  return { status: toStatus(outcome), fireMs: Number(fire) };
}

function toStatus(value: string | undefined): RunStatus | null {
  return value === 'succeeded' || value === 'failed' ? value : null;
}
