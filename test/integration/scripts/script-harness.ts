import type { Redis } from 'ioredis';
import { dynamicHandlerKey, KeySpace, type ScheduleKeys } from '../../../lib/redis/key-space';
import type {
  ClaimedRun,
  ClaimReply,
  Completion,
  CompletionResult,
  DetachVerdict,
} from '../../../lib/redis/protocol/run.types';
import type {
  EnableReply,
  UpsertCall,
  UpsertedSchedule,
  UpsertReply,
} from '../../../lib/redis/protocol/schedule-write.types';
import type { SchedulerError } from '../../../lib/errors/scheduler.error';
import { RedisScripts } from '../../../lib/redis/redis-scripts';
import { freshPrefix } from '../../support/create-app';
import { startRedisServer, type RedisServerHandle } from '../../support/redis-server';
import { redisNow } from '../../support/redis-time';

/*
 * The preamble of a spec that calls the Lua scripts directly: one private redis-server per file,
 * a fresh keyPrefix (one partition) per test, and the calls a script test needs, with the
 * defaults of the scripts' headers. Fire times are built from Redis TIME, the scripts' only clock.
 */

export const TENANT = 'acme';

export interface UpsertArgs {
  id: string;
  fireMs: number;
  dueMs?: number;
  tenant?: string;
  handler?: string;
  cron?: string;
  timeZone?: string;
  jitterMs?: number;
  payload?: string;
  enabled?: boolean;
  /** Guard of the call (the first schedule's, in a batch). @default 0 (none) */
  maxPerTenant?: number;
  /** Guard of the call (the first schedule's, in a batch). @default 0 (none) */
  maxPayloadBytes?: number;
  policy?: string;
}

export interface ClaimOptions {
  handler?: string;
  limit?: number;
  leaseMs?: number;
  lookAheadMs?: number;
  /** ARGV[8]; ARGV[2] (leaseMs) when absent. */
  reservationLeaseMs?: number;
  pods?: number;
  rank?: number;
  offset?: number;
  maxAhead?: number;
}

/** completeRuns' ARGV besides the runs, each defaulting as below. */
export interface CompleteLimits {
  /** @default 100 */
  deadLetters?: number;
  /** @default 0 */
  history?: number;
  /** @default 10_000 */
  leaseMs?: number;
  /** @default 5_000 */
  lookAheadMs?: number;
  /** @default 'pod-1' */
  podId?: string;
}

/** The run state field 'r' of a hash (includes/runState.lua), parsed. */
export interface RunState {
  fire: number;
  attempt: number;
  fence: number;
  lease: number;
  prevHw: string;
}

export class ScriptHarness {
  server!: RedisServerHandle;
  client!: Redis;
  scripts!: RedisScripts;
  prefix!: string;
  ks!: KeySpace;

  /** Redis TIME in ms. */
  redisNow(): Promise<number> {
    return redisNow(this.client);
  }

  keysOf(id: string, handler = 'h1', tenant = TENANT): ScheduleKeys {
    return this.ks.dynamicSchedule(tenant, id, handler);
  }

  dueKey(handler = 'h1'): string {
    return this.ks.dueIndex(0, dynamicHandlerKey(handler));
  }

  /** The upsertSchedules entry of one schedule. */
  upsertCall(a: UpsertArgs): UpsertCall {
    const keys = this.keysOf(a.id, a.handler, a.tenant);
    return {
      member: keys.member,
      id: a.id,
      handlerKey: keys.handlerKey,
      timing: `${a.cron ?? '* * * * *'}|${a.timeZone ?? 'UTC'}|${a.jitterMs ?? 0}`,
      payload: a.payload ?? '',
      policy: a.policy ?? '',
      enabled: a.enabled !== false,
      nextFireMs: a.fireMs,
      nextDueMs: a.dueMs ?? a.fireMs,
    };
  }

  /** upsertSchedules with several schedules in one call (the guards of the first apply). */
  async upsertBatch(list: UpsertArgs[]): Promise<{ nowMs: number; replies: UpsertReply[] }> {
    const [reply] = await this.scripts.upsertSchedules(
      this.ks.partitionBases[0],
      {
        maxPerTenant: list[0].maxPerTenant ?? 0,
        maxPayloadBytes: list[0].maxPayloadBytes ?? 0,
        wakeChannel: this.ks.wakeChannel,
      },
      [list.map((a) => this.upsertCall(a))],
    );
    if (reply instanceof Error) throw reply;
    return reply;
  }

  /** upsertSchedules with one schedule the guards let through: its reply. */
  async upsert(a: UpsertArgs): Promise<UpsertedSchedule> {
    const reply = (await this.upsertBatch([a])).replies[0];
    if (reply.status === 'refused') throw reply.error;
    return reply;
  }

  /** upsertSchedules with one schedule the guards refuse: the error it was refused with. */
  async refusal(a: UpsertArgs): Promise<SchedulerError> {
    const reply = (await this.upsertBatch([a])).replies[0];
    if (reply.status !== 'refused') throw new Error(`schedule "${a.id}" was written`);
    return reply.error;
  }

  /** claimDue on one handler's due index of partition 0, as one pod of `pods` (default 1). */
  async claim(opts: ClaimOptions = {}): Promise<ClaimReply> {
    const [reply] = await this.scripts.claimDue(
      [
        {
          due: this.dueKey(opts.handler),
          fence: this.ks.fenceCounter(0),
          hashBase: this.ks.hashBase(0),
          epoch: this.ks.epochCounter(0),
          share: { pods: opts.pods ?? 1, rank: opts.rank ?? 0 },
          offset: opts.offset ?? 0,
          maxAhead: opts.maxAhead ?? 1_000_000,
        },
      ],
      opts.limit ?? 100,
      opts.leaseMs ?? 10_000,
      opts.lookAheadMs ?? 0,
      opts.reservationLeaseMs ?? opts.leaseMs ?? 10_000,
    );
    return reply;
  }

  /**
   * detachRuns of one claimed run (overlap 'allow'), the schedule re-armed at `nextMs`: its verdict
   * and the run record's member.
   */
  async detach(
    keys: ScheduleKeys,
    run: ClaimedRun,
    nextMs: number,
  ): Promise<{ verdict: DetachVerdict; record: string }> {
    const [verdict] = await this.scripts.detachRuns(keys.base, [
      {
        member: run.member,
        fencingToken: run.fencingToken,
        revision: run.revision,
        nextFireMs: nextMs,
        nextDueMs: nextMs,
      },
    ]);
    return { verdict, record: `${run.member}:r:${run.fireMs}` };
  }

  /**
   * Claims s1 (due in the past) and detaches its run, re-arming the schedule a minute ahead
   * (`nextMs`): the verdicts of detachRuns (`codes`), the run and its record.
   */
  async detachedRun(leaseMs = 10_000) {
    const now = await this.redisNow();
    const k = this.keysOf('s1');
    await this.upsert({ id: 's1', fireMs: now - 1_000 });
    const [run] = (await this.claim({ leaseMs })).runs;
    const nextMs = now + 60_000;
    const codes = await this.scripts.detachRuns(k.base, [
      {
        member: k.member,
        fencingToken: run.fencingToken,
        revision: '1',
        nextFireMs: nextMs,
        nextDueMs: nextMs,
      },
    ]);
    const recordMember = `${k.member}:r:${run.fireMs}`;
    return { now, k, run, nextMs, codes, recordMember, recordHash: `${k.base}s:${recordMember}` };
  }

  /** setEnabled pausing a schedule of handler h1: its reply. */
  pause(id: string): Promise<EnableReply> {
    const k = this.keysOf(id);
    return this.scripts.setEnabled(
      k,
      { enabled: false, nextFireMs: 0, nextDueMs: 0, timing: '' },
      this.ks.wakeChannel,
    );
  }

  completion(
    member: string,
    fencingToken: number,
    over: Partial<Omit<Completion, 'member' | 'fencingToken'>> = {},
  ): Completion {
    return {
      member,
      fencingToken,
      outcome: 'succeeded',
      revision: '1',
      nextFireMs: 0,
      nextDueMs: 0,
      error: '',
      skipped: 0,
      deadLetter: '',
      chain: 'none',
      startedMs: 0,
      result: '',
      ...over,
    };
  }

  /** completeRuns with its header's ARGV (dead letters kept, history kept, chain lease, look-ahead). */
  completeWith(
    base: string,
    runs: Completion[],
    limits: CompleteLimits = {},
  ): Promise<CompletionResult[]> {
    return this.scripts.completeRuns(
      base,
      {
        deadLetters: limits.deadLetters ?? 100,
        history: limits.history ?? 0,
        leaseMs: limits.leaseMs ?? 10_000,
        lookAheadMs: limits.lookAheadMs ?? 5_000,
        wakeChannel: this.ks.wakeChannel,
        podId: limits.podId ?? 'pod-1',
      },
      runs,
    );
  }

  /** completeRuns: one verdict per run. */
  async complete(
    base: string,
    runs: Completion[],
    limits: CompleteLimits = {},
  ): Promise<CompletionResult['verdict'][]> {
    const results = await this.completeWith(base, runs, limits);
    return results.map((r) => r.verdict);
  }

  async score(key: string, member: string): Promise<number | null> {
    const value = await this.client.zscore(key, member);
    return value === null ? null : Number(value);
  }

  /** Every key under the test's prefix, sorted. */
  async prefixKeys(): Promise<string[]> {
    return (await this.client.keys(`${this.prefix}*`)).sort();
  }

  /** The run state field 'r' of a hash, parsed; null when it holds no run. */
  async runState(hash: string): Promise<RunState | null> {
    const r = await this.client.hget(hash, 'r');
    if (!r || !r.includes(':')) return null;
    const [fire, attempt, fence, lease, prevHw] = r.split(':');
    return {
      fire: Number(fire),
      attempt: Number(attempt),
      fence: Number(fence),
      lease: Number(lease),
      prevHw,
    };
  }

  /** The change epoch of partition 0. */
  async epoch(): Promise<number> {
    return Number((await this.client.get(this.ks.epochCounter(0))) ?? 0);
  }
}

/**
 * Registers the hooks (a redis-server for the file, a fresh prefix for each test) and returns
 * the harness they fill in.
 */
export function useScriptHarness(): ScriptHarness {
  const h = new ScriptHarness();
  beforeAll(async () => {
    h.server = await startRedisServer();
    h.client = h.server.client();
    h.scripts = new RedisScripts(h.client);
  });
  afterAll(() => h.server.stop());
  beforeEach(() => {
    h.prefix = freshPrefix();
    h.ks = new KeySpace(h.prefix, 1);
  });
  return h;
}
