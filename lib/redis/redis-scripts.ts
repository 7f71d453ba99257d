import type { Cluster, Redis } from 'ioredis';
import type { ScheduleKeys } from './key-space';
import { loadScripts } from './script-loader';
import type { ScriptArg } from './protocol/codec';
import * as leases from './protocol/leases.codec';
import * as locks from './protocol/locks.codec';
import * as registry from './protocol/registry.codec';
import * as runs from './protocol/runs.codec';
import * as schedules from './protocol/schedules.codec';
import * as tenants from './protocol/tenants.codec';
import * as triggers from './protocol/triggers.codec';
import type { OverlapPolicy } from '../interfaces/schedule-policy.interface';
import type {
  ClaimCall,
  ClaimReply,
  Completion,
  CompletionLimits,
  CompletionResult,
  Confirmation,
  ConfirmReply,
  Detachment,
  DetachVerdict,
  ReleaseVerdict,
  Renewal,
  Retarget,
  RetargetVerdict,
  RunRef,
} from './protocol/run.types';
import type {
  EnableCall,
  EnableReply,
  UpsertCall,
  UpsertGuards,
  UpsertReply,
} from './protocol/schedule-write.types';

export type RedisClient = Redis | Cluster;
type ScriptMethod = (...args: ScriptArg[]) => Promise<unknown>;
type ChainMethod = (...args: ScriptArg[]) => unknown;

const defined = new WeakSet<object>();

/**
 * The Redis protocol's one entry point: a typed method per Lua script. The codecs of ./protocol
 * build each call's KEYS/ARGV and decode its reply into a typed result (script codes become
 * reasons or SchedulerErrors there, through errors/script-codes.ts); this class only sends them.
 * Scripts are defined once per client with ioredis `defineCommand` (EVALSHA, falling back to EVAL
 * on a fresh connection).
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
    targets: readonly ClaimCall[],
    limit: number,
    leaseMs: number,
    lookAheadMs: number,
    reservationLeaseMs = leaseMs,
  ): Promise<ClaimReply[]> {
    const replies = await this.pipelined(
      'claimDue',
      targets.map((t) => runs.encodeClaim(t, limit, leaseMs, lookAheadMs, reservationLeaseMs)),
    );
    return replies.map((reply) => {
      if (reply instanceof Error) throw reply;
      return runs.decodeClaim(reply as ScriptArg[], leaseMs, reservationLeaseMs);
    });
  }

  /** Confirms reserved runs of one partition at their due time (see confirmRuns-1.lua). */
  async confirmRuns(
    base: string,
    notBeforeMs: number,
    epoch: number,
    leaseUntilMs: number,
    reserved: readonly Confirmation[],
  ): Promise<ConfirmReply> {
    const args = runs.encodeConfirm(base, notBeforeMs, epoch, leaseUntilMs, reserved);
    return runs.decodeConfirm((await this.call('confirmRuns', args)) as number[]);
  }

  /** Records the end of runs of one partition (see completeRuns-1.lua): one result per run. */
  async completeRuns(
    base: string,
    limits: CompletionLimits,
    ended: readonly Completion[],
  ): Promise<CompletionResult[]> {
    const args = runs.encodeCompletions(base, limits, ended);
    return runs.decodeCompletions(
      (await this.call('completeRuns', args)) as number[],
      ended.length,
    );
  }

  async detachRuns(base: string, held: readonly Detachment[]): Promise<DetachVerdict[]> {
    const args = leases.encodeDetachments(base, held);
    return leases.decodeDetachments((await this.call('detachRuns', args)) as number[]);
  }

  async retargetRuns(base: string, held: readonly Retarget[]): Promise<RetargetVerdict[]> {
    const args = leases.encodeRetargets(base, held);
    return leases.decodeRetargets((await this.call('retargetRuns', args)) as number[]);
  }

  /** Hands unstarted first attempts back (see releaseRuns-1.lua). */
  async releaseRuns(
    base: string,
    wakeChannel: string,
    held: readonly RunRef[],
  ): Promise<ReleaseVerdict[]> {
    const args = leases.encodeReleases(base, wakeChannel, held);
    return leases.decodeReleases((await this.call('releaseRuns', args)) as number[]);
  }

  /** Renews leases (leaseMs > 0) or gives runs back (leaseMs = 0). */
  async extendLeases(base: string, leaseMs: number, held: readonly RunRef[]): Promise<Renewal[]> {
    const args = leases.encodeRenewals(base, leaseMs, held);
    return leases.decodeRenewals((await this.call('extendLeases', args)) as number[]);
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
    const replies = await this.pipelined(
      'upsertSchedules',
      batches.map((batch) => schedules.encodeUpserts(base, guards, batch)),
    );
    return replies.map((reply, b) =>
      reply instanceof Error
        ? reply
        : schedules.decodeUpserts(reply as ScriptArg[], batches[b], guards),
    );
  }

  /** Removes a dynamic schedule (see removeSchedule-3.lua): false when there was none. */
  async removeSchedule(keys: ScheduleKeys, id: string, wakeChannel: string): Promise<boolean> {
    const reply = await this.call('removeSchedule', schedules.encodeRemoval(keys, id, wakeChannel));
    return schedules.decodeRemoval(Number(reply));
  }

  /** Pauses or resumes a schedule (see setEnabled-2.lua). */
  async setEnabled(
    keys: ScheduleKeys,
    call: EnableCall,
    wakeChannel: string,
  ): Promise<EnableReply> {
    const reply = await this.call('setEnabled', schedules.encodeEnable(keys, call, wakeChannel));
    return schedules.decodeEnable(reply as number[], keys);
  }

  /** Pauses a tenant and each of its schedules (see pauseTenant-1.lua). */
  async pauseTenant(base: string, tenantId: string, wakeChannel: string) {
    const reply = await this.call('pauseTenant', tenants.encodeTenant(base, tenantId, wakeChannel));
    return tenants.decodeTenantPause(reply as number[]);
  }

  /** Resumes a paused tenant, each schedule to its own state (see resumeTenant-1.lua). */
  async resumeTenant(
    base: string,
    tenantId: string,
    wakeChannel: string,
    plans: readonly tenants.TenantResumePlan[],
  ): Promise<tenants.TenantResumeReply> {
    const args = tenants.encodeTenantResume(base, tenantId, wakeChannel, plans);
    return tenants.decodeTenantResume(
      (await this.call('resumeTenant', args)) as (number | string)[],
    );
  }

  /** Removes every schedule of a tenant (see removeTenant-1.lua): how many. */
  async removeTenant(base: string, tenantId: string, wakeChannel: string): Promise<number> {
    const args = tenants.encodeTenant(base, tenantId, wakeChannel);
    return tenants.decodeTenantRemoval(Number(await this.call('removeTenant', args)));
  }

  /** One extra run of a schedule, due now, beside its series (see triggerRun-1.lua). */
  async triggerRun(
    keys: ScheduleKeys,
    defaultOverlap: OverlapPolicy,
    wakeChannel: string,
  ): Promise<triggers.TriggerReply> {
    const args = triggers.encodeTrigger(keys, defaultOverlap, wakeChannel);
    return triggers.decodeTrigger((await this.call('triggerRun', args)) as unknown[]);
  }

  async clearDeadLetters(list: string, tenantId: string): Promise<number> {
    const args = schedules.encodeDeadLetterClear(list, tenantId);
    return schedules.decodeDeadLetterClear(Number(await this.call('clearDeadLetters', args)));
  }

  /** Takes a lock: its fencing token, or null while another owner holds it. */
  async acquireLock(
    lock: string,
    fence: string,
    token: string,
    ttlMs: number,
  ): Promise<number | null> {
    const reply = await this.call('acquireLock', locks.encodeAcquire(lock, fence, token, ttlMs));
    return locks.decodeAcquire(Number(reply));
  }

  /** Extends a lock for its owner's token: false when it is no longer theirs. */
  async extendLock(lock: string, token: string, ttlMs: number): Promise<boolean> {
    const reply = await this.call('extendLock', locks.encodeExtend(lock, token, ttlMs));
    return locks.decodeExtend(Number(reply));
  }

  /** Releases a lock for its owner's token: false when it was no longer theirs. */
  async releaseLock(lock: string, token: string): Promise<boolean> {
    const reply = await this.call('releaseLock', locks.encodeRelease(lock, token));
    return locks.decodeRelease(Number(reply));
  }

  /** Heartbeats of one pod in several handler registries at once (one call each, pipelined). */
  async heartbeat(
    registries: readonly string[],
    podId: string,
    ttlMs: number,
    wakeChannel: string,
  ): Promise<string[][]> {
    const replies = await this.pipelined(
      'heartbeat',
      registries.map((key) => registry.encodeHeartbeat(key, podId, ttlMs, wakeChannel)),
    );
    return replies.map((reply) => {
      if (reply instanceof Error) throw reply;
      return registry.decodeHeartbeat(reply);
    });
  }

  /**
   * Declares a pod's static schedules (one call each, pipelined; see declareStatic-1.lua): per
   * schedule, whether the declaration was written and the other live pods' declarations.
   */
  async declareStatics(
    declarations: readonly { key: string; source: string; timing: string }[],
    podId: string,
    ttlMs: number,
  ): Promise<registry.DeclareReply[]> {
    const replies = await this.pipelined(
      'declareStatic',
      declarations.map((d) => registry.encodeDeclaration(d.key, podId, d.source, d.timing, ttlMs)),
    );
    return replies.map((reply) => {
      if (reply instanceof Error) throw reply;
      return registry.decodeDeclaration(reply);
    });
  }

  private call(name: string, args: ScriptArg[]): Promise<unknown> {
    const method = (this.client as unknown as Record<string, ScriptMethod>)[this.command(name)];
    return method.apply(this.client, args);
  }

  /** One call per argument list in one pipeline: each reply, or the error of that call. */
  private async pipelined(name: string, calls: ScriptArg[][]): Promise<unknown[]> {
    const pipeline = this.client.pipeline();
    const method = (pipeline as unknown as Record<string, ChainMethod>)[this.command(name)];
    for (const args of calls) method.apply(pipeline, args);
    const results = (await pipeline.exec()) ?? [];
    return results.map(([error, reply]) => error ?? reply);
  }

  private command(name: string): string {
    const command = this.commands.get(name);
    if (!command) throw new Error(`Lua script "${name}" is missing from lib/redis/scripts.`);
    return command;
  }
}
