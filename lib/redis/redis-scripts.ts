import type { Cluster, Redis } from 'ioredis';
import { loadScripts } from './script-loader';

export type RedisClient = Redis | Cluster;
type Arg = string | number;
type ScriptMethod = (...args: Arg[]) => Promise<unknown>;
type ChainMethod = (...args: Arg[]) => unknown;

/** One schedule run handed to this pod by claimDue. */
export interface ClaimedRun {
  member: string;
  fireMs: number;
  attempt: number;
  fencingToken: number;
  token: string;
  leaseUntilMs: number;
  /** run: first attempt; recover: a retry or a lost lease re-run (attempt > 1); stale: already claimed, only re-arm. */
  claim: 'run' | 'recover' | 'stale';
  timingRevision: string;
  cron: string;
  timeZone: string;
  jitterMs: number;
  payload: string;
  tenantId: string;
  id: string;
  kind: 'c' | 't';
  /** The schedule's own policy fields as stored (JSON), '' when it sets none. */
  policy: string;
}

export interface ClaimReply {
  nowMs: number;
  /** Earliest score left in the due index (a due time or a lease expiry); null when empty. */
  earliestMs: number | null;
  runs: ClaimedRun[];
}

export interface ClaimTarget {
  due: string;
  fence: string;
  hashBase: string;
}

export interface Completion {
  member: string;
  token: string;
  outcome: 'succeeded' | 'failed' | 'skipped' | 'retry';
  timingRevision: string;
  /** Where to re-arm the schedule (for retry: unused). */
  nextFireMs: number;
  /** When the re-armed schedule (or, for retry, the retry) is due. */
  nextDueMs: number;
  error: string;
  skipped: number;
  /** JSON of the dead letter to keep, '' for none. */
  deadLetter: string;
}

export interface Detachment {
  member: string;
  token: string;
  timingRevision: string;
  nextFireMs: number;
  nextDueMs: number;
}

const CLAIM_FIELDS = 16;
const defined = new WeakSet<object>();

/**
 * Typed calls of the Lua scripts: builds KEYS/ARGV in the order each header documents and parses
 * replies. Scripts are defined once per client with ioredis `defineCommand` (EVALSHA, falling back
 * to EVAL on a fresh connection).
 */
export class RedisScripts {
  private readonly commands = new Map<string, string>();

  constructor(private readonly client: RedisClient) {
    for (const script of loadScripts().values()) {
      this.commands.set(script.name, script.command);
      if (!defined.has(client)) {
        client.defineCommand(script.command, {
          lua: script.lua,
          numberOfKeys: script.numberOfKeys,
        });
      }
    }
    defined.add(client);
  }

  /** Claims from several due indexes of ONE partition in a single round trip. */
  async claimDue(
    targets: readonly ClaimTarget[],
    limit: number,
    leaseMs: number,
    claimant: string,
  ): Promise<ClaimReply[]> {
    const pipeline = this.client.pipeline();
    const method = this.chain(pipeline, 'claimDue');
    for (const t of targets) method(t.due, t.fence, t.hashBase, limit, leaseMs, claimant);
    const results = (await pipeline.exec()) ?? [];
    return results.map(([error, reply]) => {
      if (error) throw error;
      return parseClaim(reply as Arg[]);
    });
  }

  async completeRuns(
    base: string,
    deadLetterLimit: number,
    historyLimit: number,
    runs: readonly Completion[],
  ): Promise<number[]> {
    const args: Arg[] = [deadLetterLimit, historyLimit, runs.length];
    for (const r of runs) {
      args.push(
        r.member,
        r.token,
        r.outcome,
        r.timingRevision,
        r.nextFireMs,
        r.nextDueMs,
        r.error,
        r.skipped,
        r.deadLetter,
      );
    }
    return (await this.call('completeRuns', base, ...args)) as number[];
  }

  async detachRuns(base: string, runs: readonly Detachment[]): Promise<number[]> {
    const args: Arg[] = [runs.length];
    for (const r of runs) args.push(r.member, r.token, r.timingRevision, r.nextFireMs, r.nextDueMs);
    return (await this.call('detachRuns', base, ...args)) as number[];
  }

  async retargetRuns(
    base: string,
    runs: readonly { member: string; token: string; fireMs: number }[],
  ): Promise<number[]> {
    const args: Arg[] = [runs.length];
    for (const r of runs) args.push(r.member, r.token, r.fireMs);
    return (await this.call('retargetRuns', base, ...args)) as number[];
  }

  async clearDeadLetters(list: string, tenantId: string): Promise<number> {
    return (await this.call('clearDeadLetters', list, tenantId)) as number;
  }

  /** Renews leases (leaseMs > 0) or gives runs back (leaseMs = 0). */
  async extendLeases(
    base: string,
    leaseMs: number,
    runs: readonly { member: string; token: string }[],
  ): Promise<number[]> {
    const args: Arg[] = [leaseMs, runs.length];
    for (const r of runs) args.push(r.member, r.token);
    return (await this.call('extendLeases', base, ...args)) as number[];
  }

  async upsertSchedule(keys: readonly string[], args: readonly Arg[]): Promise<Arg[]> {
    return (await this.call('upsertSchedule', ...keys, ...args)) as Arg[];
  }

  /** Many upserts of ONE partition in one round trip; each entry is the reply or the error. */
  async upsertSchedules(
    calls: readonly { keys: readonly string[]; args: readonly Arg[] }[],
  ): Promise<(Arg[] | Error)[]> {
    const pipeline = this.client.pipeline();
    const method = this.chain(pipeline, 'upsertSchedule');
    for (const call of calls) method(...call.keys, ...call.args);
    const results = (await pipeline.exec()) ?? [];
    return results.map(([error, reply]) => error ?? (reply as Arg[]));
  }

  async removeSchedule(keys: readonly string[], args: readonly Arg[]): Promise<number> {
    return (await this.call('removeSchedule', ...keys, ...args)) as number;
  }

  async setEnabled(keys: readonly string[], args: readonly Arg[]): Promise<number[]> {
    return (await this.call('setEnabled', ...keys, ...args)) as number[];
  }

  async acquireLock(lock: string, fence: string, token: string, ttlMs: number): Promise<number> {
    return (await this.call('acquireLock', lock, fence, token, ttlMs)) as number;
  }

  async extendLock(lock: string, token: string, ttlMs: number): Promise<number> {
    return (await this.call('extendLock', lock, token, ttlMs)) as number;
  }

  async releaseLock(lock: string, token: string): Promise<number> {
    return (await this.call('releaseLock', lock, token)) as number;
  }

  private call(name: string, ...args: Arg[]): Promise<unknown> {
    const method = (this.client as unknown as Record<string, ScriptMethod>)[this.command(name)];
    return method.apply(this.client, args);
  }

  private chain(target: object, name: string): ChainMethod {
    const method = (target as Record<string, ChainMethod>)[this.command(name)];
    return (...args: Arg[]) => method.apply(target, args);
  }

  private command(name: string): string {
    const command = this.commands.get(name);
    if (!command) throw new Error(`Lua script "${name}" is missing from lib/redis/scripts.`);
    return command;
  }
}

function parseClaim(reply: Arg[]): ClaimReply {
  const count = Number(reply[2]);
  const runs: ClaimedRun[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const o = 3 + i * CLAIM_FIELDS;
    runs[i] = {
      member: String(reply[o]),
      fireMs: Number(reply[o + 1]),
      attempt: Number(reply[o + 2]),
      fencingToken: Number(reply[o + 3]),
      token: String(reply[o + 4]),
      leaseUntilMs: Number(reply[o + 5]),
      claim: String(reply[o + 6]) as ClaimedRun['claim'],
      timingRevision: String(reply[o + 7]),
      cron: String(reply[o + 8]),
      timeZone: String(reply[o + 9]),
      jitterMs: Number(reply[o + 10]),
      payload: String(reply[o + 11]),
      tenantId: String(reply[o + 12]),
      id: String(reply[o + 13]),
      kind: String(reply[o + 14]) as ClaimedRun['kind'],
      policy: String(reply[o + 15]),
    };
  }
  const earliest = Number(reply[1]);
  return { nowMs: Number(reply[0]), earliestMs: earliest < 0 ? null : earliest, runs };
}
