import type { Cluster, Redis } from 'ioredis';
import { loadScripts } from './script-loader';
import { toSchedulerError, unexpectedReply } from '../errors/script-codes';
import { parseMember, type ScheduleKeys } from './key-space';
import type {
  ClaimedRun,
  ClaimReply,
  ClaimTarget,
  Completion,
  CompletionResult,
  ConfirmRefusal,
  Confirmation,
  ConfirmReply,
  Detachment,
  DetachVerdict,
  LeaseRefusal,
  ReleaseVerdict,
  Renewal,
  Retarget,
  RetargetVerdict,
  RunRef,
  Share,
} from './protocol/run.types';
import type {
  EnableCall,
  EnableReply,
  UpsertCall,
  UpsertGuards,
  UpsertReply,
} from './protocol/schedule-write.types';
import { reason, verdict, type Verdict } from './protocol/verdict';

export type RedisClient = Redis | Cluster;
type Arg = string | number;
type ScriptMethod = (...args: Arg[]) => Promise<unknown>;
type ChainMethod = (...args: Arg[]) => unknown;

const CHAIN_FLAGS: Record<Completion['chain'], string> = {
  chain: 'c',
  wake: 'w',
  park: 'p',
  none: '',
};

const LEASE_REFUSALS: readonly LeaseRefusal[] = ['lease-lost', 'lease-expired'];
const CONFIRM_REFUSALS: readonly ConfirmRefusal[] = ['lease-lost', 'lease-expired', 'changed'];
const RETARGET_REFUSALS: readonly Exclude<RetargetVerdict, 'ok'>[] = [
  'lease-lost',
  'lease-expired',
  'too-early',
];
const RELEASE_REFUSALS: readonly 'lease-lost'[] = ['lease-lost'];

const CLAIM_FIELDS = 10;
const UPSERT_FIELDS = 8;
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
    targets: readonly (ClaimTarget & { share: Share; offset: number; maxAhead: number })[],
    limit: number,
    leaseMs: number,
    lookAheadMs: number,
  ): Promise<ClaimReply[]> {
    const pipeline = this.client.pipeline();
    const method = this.chain(pipeline, 'claimDue');
    for (const t of targets) {
      const { pods, rank } = t.share;
      method(
        t.due,
        t.fence,
        t.hashBase,
        t.epoch,
        limit,
        leaseMs,
        lookAheadMs,
        pods,
        rank,
        t.offset,
        t.maxAhead,
      );
    }
    const results = (await pipeline.exec()) ?? [];
    return results.map(([error, reply]) => {
      if (error) throw error;
      return parseClaim(reply as Arg[], leaseMs);
    });
  }

  async confirmRuns(
    base: string,
    notBeforeMs: number,
    epoch: number,
    leaseUntilMs: number,
    runs: readonly Confirmation[],
  ): Promise<ConfirmReply> {
    const args: Arg[] = [notBeforeMs, epoch, leaseUntilMs, runs.length];
    for (const r of runs) args.push(r.member, r.fencingToken, r.revision);
    return decodeConfirm((await this.call('confirmRuns', base, ...args)) as number[]);
  }

  async completeRuns(
    base: string,
    limits: {
      deadLetters: number;
      history: number;
      leaseMs: number;
      lookAheadMs: number;
      wakeChannel: string;
    },
    runs: readonly Completion[],
  ): Promise<CompletionResult[]> {
    const args: Arg[] = [
      limits.deadLetters,
      limits.history,
      limits.leaseMs,
      limits.lookAheadMs,
      limits.wakeChannel,
      runs.length,
    ];
    for (const r of runs) {
      const chain = CHAIN_FLAGS[r.chain];
      args.push(
        `${r.member}\n${r.fencingToken}\n${r.outcome}\n${r.revision}\n${r.nextFireMs}\n` +
          `${r.nextDueMs}\n${r.skipped}\n${chain}`,
        r.error,
        r.deadLetter,
      );
    }
    const reply = (await this.call('completeRuns', base, ...args)) as number[];
    const nowMs = Number(reply[0]);
    const epoch = Number(reply[1]);
    const results: CompletionResult[] = new Array(runs.length);
    for (let i = 0; i < runs.length; i++) {
      results[i] = {
        verdict: verdict('completeRuns', Number(reply[2 + 2 * i]), LEASE_REFUSALS),
        chainedFence: Number(reply[3 + 2 * i]),
        nowMs,
        epoch,
      };
    }
    return results;
  }

  async detachRuns(base: string, runs: readonly Detachment[]): Promise<DetachVerdict[]> {
    const args: Arg[] = [runs.length];
    for (const r of runs) {
      args.push(r.member, r.fencingToken, r.revision, r.nextFireMs, r.nextDueMs);
    }
    const codes = (await this.call('detachRuns', base, ...args)) as number[];
    return codes.map((code) => verdict('detachRuns', code, LEASE_REFUSALS));
  }

  async retargetRuns(base: string, runs: readonly Retarget[]): Promise<RetargetVerdict[]> {
    const args: Arg[] = [runs.length];
    for (const r of runs) args.push(r.member, r.fencingToken, r.fireMs, r.dueMs);
    const codes = (await this.call('retargetRuns', base, ...args)) as number[];
    return codes.map((code) => verdict('retargetRuns', code, RETARGET_REFUSALS));
  }

  /** Hands unstarted first attempts back (see releaseRuns-1.lua). */
  async releaseRuns(
    base: string,
    wakeChannel: string,
    runs: readonly RunRef[],
  ): Promise<ReleaseVerdict[]> {
    const args: Arg[] = [wakeChannel, runs.length];
    for (const r of runs) args.push(r.member, r.fencingToken);
    const codes = (await this.call('releaseRuns', base, ...args)) as number[];
    return codes.map((code) => verdict('releaseRuns', code, RELEASE_REFUSALS));
  }

  async clearDeadLetters(list: string, tenantId: string): Promise<number> {
    return Number(await this.call('clearDeadLetters', list, tenantId));
  }

  /** Renews leases (leaseMs > 0) or gives runs back (leaseMs = 0). */
  async extendLeases(base: string, leaseMs: number, runs: readonly RunRef[]): Promise<Renewal[]> {
    const args: Arg[] = [leaseMs, runs.length];
    for (const r of runs) args.push(r.member, r.fencingToken);
    const replies = (await this.call('extendLeases', base, ...args)) as number[];
    return replies.map((r) => (r > 0 ? r : reason('extendLeases', r, LEASE_REFUSALS)));
  }

  /**
   * Upserts a batch of schedules of ONE partition; several batches go in one pipeline. Each
   * batch's reply is its Redis time and one entry per schedule, or the error of the whole batch.
   */
  async upsertSchedules(
    base: string,
    guards: UpsertGuards,
    batches: readonly (readonly UpsertCall[])[],
  ): Promise<({ nowMs: number; replies: UpsertReply[] } | Error)[]> {
    const pipeline = this.client.pipeline();
    const method = this.chain(pipeline, 'upsertSchedules');
    for (const batch of batches) {
      const args: Arg[] = [
        base,
        guards.maxPerTenant,
        guards.maxPayloadBytes,
        guards.wakeChannel,
        batch.length,
      ];
      for (const s of batch) {
        args.push(
          s.member,
          s.id,
          s.handlerKey,
          s.timing,
          s.payload,
          s.policy,
          s.enabled ? '1' : '0',
          s.nextFireMs,
          s.nextDueMs,
        );
      }
      method(...args);
    }
    const results = (await pipeline.exec()) ?? [];
    return results.map(([error, reply], b) =>
      error ? error : decodeUpserts(reply as Arg[], batches[b], guards),
    );
  }

  /** Removes a dynamic schedule (see removeSchedule-3.lua): false when there was none. */
  async removeSchedule(keys: ScheduleKeys, id: string): Promise<boolean> {
    const code = Number(
      await this.call('removeSchedule', keys.hash, keys.tenantSet, keys.base, id, keys.member),
    );
    if (code === 1) return true;
    return reason('removeSchedule', code, ['not-found']) !== 'not-found';
  }

  /** Pauses or resumes a schedule (see setEnabled-2.lua). */
  async setEnabled(
    keys: ScheduleKeys,
    call: EnableCall,
    wakeChannel: string,
  ): Promise<EnableReply> {
    const reply = (await this.call(
      'setEnabled',
      keys.hash,
      keys.base,
      call.enabled ? '1' : '0',
      call.nextFireMs,
      call.nextDueMs,
      wakeChannel,
      keys.member,
      call.timing,
    )) as number[];
    const code = Number(reply[0]);
    if (code === 1) {
      return { status: 'done', nextFireMs: Number(reply[1]), nextDueMs: Number(reply[2]) };
    }
    if (reason('setEnabled', code, ['not-found', 'changed']) === 'not-found') {
      return { status: 'not-found' };
    }
    const { tenantId = '', id } = parseMember(keys.member);
    return { status: 'changed', error: toSchedulerError(code, { tenantId, scheduleId: id }) };
  }

  /** Takes a lock (see acquireLock-2.lua): its fencing token, or null while another owner holds it. */
  async acquireLock(
    lock: string,
    fence: string,
    token: string,
    ttlMs: number,
  ): Promise<number | null> {
    const reply = Number(await this.call('acquireLock', lock, fence, token, ttlMs));
    if (reply > 0) return reply;
    if (reply === 0) return null;
    throw unexpectedReply('acquireLock', reply);
  }

  /** Extends a lock for its owner's token: false when it is no longer theirs. */
  async extendLock(lock: string, token: string, ttlMs: number): Promise<boolean> {
    return owned('extendLock', Number(await this.call('extendLock', lock, token, ttlMs)));
  }

  /** Releases a lock for its owner's token: false when it was no longer theirs. */
  async releaseLock(lock: string, token: string): Promise<boolean> {
    return owned('releaseLock', Number(await this.call('releaseLock', lock, token)));
  }

  /** Heartbeats of one pod in several handler registries at once (one call each, pipelined). */
  async heartbeat(
    registries: readonly string[],
    podId: string,
    ttlMs: number,
    wakeChannel: string,
  ): Promise<string[][]> {
    const pipeline = this.client.pipeline();
    const method = this.chain(pipeline, 'heartbeat');
    for (const key of registries) method(key, podId, ttlMs, wakeChannel);
    const results = (await pipeline.exec()) ?? [];
    return results.map(([error, reply]) => {
      if (error) throw error;
      return reply as string[];
    });
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

function nullable(value: Arg): number | null {
  const n = Number(value);
  return n < 0 ? null : n;
}

function parseClaim(reply: Arg[], leaseMs: number): ClaimReply {
  const nowMs = Number(reply[0]);
  const count = Number(reply[6]);
  const runs: ClaimedRun[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const o = 7 + i * CLAIM_FIELDS;
    const dueMs = Number(reply[o + 2]);
    const attempt = Number(reply[o + 3]);
    runs[i] = {
      member: String(reply[o]),
      fireMs: Number(reply[o + 1]),
      dueMs,
      attempt,
      fencingToken: Number(reply[o + 4]),
      // As claimDue-4.lua sets it: from the due time of a reservation, from now otherwise.
      leaseUntilMs: (attempt === 1 && dueMs > nowMs ? dueMs : nowMs) + leaseMs,
      claim: attempt === 0 ? 'stale' : attempt === 1 ? 'run' : 'recover',
      revision: String(reply[o + 5]),
      timing: String(reply[o + 6]),
      payload: String(reply[o + 7]),
      policy: String(reply[o + 8]),
      incarnation: Number(reply[o + 9]),
    };
  }
  return {
    nowMs,
    nextScoreMs: nullable(reply[1]),
    heldScoreMs: nullable(reply[2]),
    epoch: Number(reply[3]),
    passed: Number(reply[4]),
    more: Number(reply[5]) === 1,
    runs,
  };
}

function decodeConfirm(reply: number[]): ConfirmReply {
  const nowMs = Number(reply[1]);
  const epoch = reply[2] === undefined ? -1 : Number(reply[2]);
  const status = Number(reply[0]);
  if (status === 1) return { status: 'confirmed', nowMs, epoch };
  if (status === 2) {
    const verdicts: Verdict<ConfirmRefusal>[] = new Array(reply.length - 3);
    for (let i = 3; i < reply.length; i++) {
      verdicts[i - 3] = verdict('confirmRuns', Number(reply[i]), CONFIRM_REFUSALS);
    }
    return { status: 'checked', nowMs, epoch, verdicts };
  }
  if (status === 3) return { status: 'check', nowMs, epoch };
  reason('confirmRuns', status, ['too-early']);
  return { status: 'early', nowMs, epoch };
}

/** A lock script's answer: 1 done for the owner, LEASE_LOST not the owner's (any more). */
function owned(script: string, code: number): boolean {
  return code === 1 || reason(script, code, ['lease-lost']) !== 'lease-lost';
}

function decodeUpserts(
  reply: Arg[],
  calls: readonly UpsertCall[],
  guards: UpsertGuards,
): { nowMs: number; replies: UpsertReply[] } {
  const count = (reply.length - 1) / UPSERT_FIELDS;
  const replies: UpsertReply[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const o = 1 + i * UPSERT_FIELDS;
    const code = Number(reply[o]);
    if (code !== 0 && code !== 1) {
      replies[i] = {
        status: 'refused',
        error: refusal(code, Number(reply[o + 1]), calls[i], guards),
      };
      continue;
    }
    replies[i] = {
      status: code === 1 ? 'created' : 'updated',
      nextFireMs: Number(reply[o + 1]),
      nextDueMs: Number(reply[o + 2]),
      createdAtMs: Number(reply[o + 3]),
      last: String(reply[o + 4]),
      lastError: String(reply[o + 5]),
      running: Number(reply[o + 6]) === 1,
      skippedFires: Number(reply[o + 7]),
    };
  }
  return { nowMs: Number(reply[0]), replies };
}

/** A schedule the tenant guards refused, as the error it stands for. */
function refusal(code: number, detail: number, call: UpsertCall, guards: UpsertGuards) {
  const refused = reason('upsertSchedules', code, ['tenant-quota-exceeded', 'payload-too-large']);
  return toSchedulerError(code, {
    tenantId: parseMember(call.member).tenantId,
    limit: refused === 'tenant-quota-exceeded' ? guards.maxPerTenant : guards.maxPayloadBytes,
    detail,
  });
}
