import type { Redis } from 'ioredis';
import { dynamicHandlerKey, KeySpace, type ScheduleKeys } from '../../../lib/redis/key-space';
import type {
  ClaimedRun,
  ClaimReply,
  Completion,
  CompletionResult,
  DetachVerdict,
} from '../../../lib/redis/protocol/run.types';
import type { UpsertReply } from '../../../lib/redis/protocol/schedule-write.types';
import { RedisScripts } from '../../../lib/redis/redis-scripts';
import { freshPrefix } from '../../support/create-app';
import { startRedisServer, type RedisServerHandle } from '../../support/redis-server';

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
  payload?: string;
  policy?: string;
  enabled?: boolean;
}

export interface ClaimOptions {
  handler?: string;
  limit?: number;
  leaseMs?: number;
  lookAheadMs?: number;
}

export class ScriptHarness {
  server!: RedisServerHandle;
  client!: Redis;
  scripts!: RedisScripts;
  prefix!: string;
  ks!: KeySpace;

  /** Redis TIME in ms. */
  async redisNow(): Promise<number> {
    const [seconds, micros] = await this.client.time();
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  }

  keysOf(id: string, handler = 'h1', tenant = TENANT): ScheduleKeys {
    return this.ks.dynamicSchedule(tenant, id, handler);
  }

  dueKey(handler = 'h1'): string {
    return this.ks.dueIndex(0, dynamicHandlerKey(handler));
  }

  /** upsertSchedules with one schedule and no tenant guards: its reply. */
  async upsert(a: UpsertArgs): Promise<UpsertReply> {
    const keys = this.keysOf(a.id, a.handler, a.tenant);
    const [reply] = await this.scripts.upsertSchedules(
      this.ks.partitionBases[0],
      { maxPerTenant: 0, maxPayloadBytes: 0, wakeChannel: this.ks.wakeChannel },
      [
        [
          {
            member: keys.member,
            id: a.id,
            handlerKey: keys.handlerKey,
            timing: `${a.cron ?? '* * * * *'}|UTC|0`,
            payload: a.payload ?? '',
            policy: a.policy ?? '',
            enabled: a.enabled !== false,
            nextFireMs: a.fireMs,
            nextDueMs: a.dueMs ?? a.fireMs,
          },
        ],
      ],
    );
    if (reply instanceof Error) throw reply;
    return reply.replies[0];
  }

  /** claimDue on one handler's due index of partition 0, as a single pod. */
  async claim(opts: ClaimOptions = {}): Promise<ClaimReply> {
    const [reply] = await this.scripts.claimDue(
      [
        {
          due: this.dueKey(opts.handler),
          fence: this.ks.fenceCounter(0),
          hashBase: this.ks.hashBase(0),
          epoch: this.ks.epochCounter(0),
          share: { pods: 1, rank: 0 },
          offset: 0,
          maxAhead: 1_000_000,
        },
      ],
      opts.limit ?? 100,
      opts.leaseMs ?? 10_000,
      opts.lookAheadMs ?? 0,
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
      ...over,
    };
  }

  /** completeRuns with 100 dead letters and `history` entries kept: one verdict per run. */
  async complete(
    base: string,
    runs: Completion[],
    history = 0,
  ): Promise<CompletionResult['verdict'][]> {
    const results = await this.scripts.completeRuns(
      base,
      {
        deadLetters: 100,
        history,
        leaseMs: 10_000,
        lookAheadMs: 5_000,
        wakeChannel: this.ks.wakeChannel,
      },
      runs,
    );
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
