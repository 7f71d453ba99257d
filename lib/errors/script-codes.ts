import { SchedulerError } from './scheduler.error';
import { TenantQuotaExceededError } from './tenant-quota-exceeded.error';
import { PayloadTooLargeError } from './payload-too-large.error';
import { LockLostError } from './lock-lost.error';
import { ConcurrentChangeError } from './concurrent-change.error';
import { UnexpectedScriptReplyError } from './unexpected-script-reply.error';

/** Every negative code a Lua script returns; a test checks each script header against it. */
export enum ScriptCode {
  TENANT_QUOTA_EXCEEDED = -1,
  PAYLOAD_TOO_LARGE = -2,
  NOT_FOUND = 0,
  LEASE_LOST = -4,
  LEASE_EXPIRED = -5,
  /** The schedule changed since it was read or claimed (a reservation is handed back). */
  CHANGED = -6,
  /** A reservation's due time has not come yet by Redis TIME. */
  TOO_EARLY = -7,
}

/** The name of a code in the typed results of lib/redis/protocol. */
export type ScriptReason =
  | 'tenant-quota-exceeded'
  | 'payload-too-large'
  | 'not-found'
  | 'lease-lost'
  | 'lease-expired'
  | 'changed'
  | 'too-early';

/**
 * What every code decodes to: its name in a typed result. A code that reaches a caller as an
 * error becomes one through toSchedulerError, below; the protocol decoders take nothing else.
 */
const REASONS: Readonly<Record<ScriptCode, ScriptReason>> = {
  [ScriptCode.TENANT_QUOTA_EXCEEDED]: 'tenant-quota-exceeded',
  [ScriptCode.PAYLOAD_TOO_LARGE]: 'payload-too-large',
  [ScriptCode.NOT_FOUND]: 'not-found',
  [ScriptCode.LEASE_LOST]: 'lease-lost',
  [ScriptCode.LEASE_EXPIRED]: 'lease-expired',
  [ScriptCode.CHANGED]: 'changed',
  [ScriptCode.TOO_EARLY]: 'too-early',
};

/** The reason a code stands for, or undefined for a number that is no ScriptCode. */
export function reasonOf(code: number): ScriptReason | undefined {
  return (REASONS as Partial<Record<number, ScriptReason>>)[code];
}

export interface ScriptCodeContext {
  tenantId?: string;
  scheduleId?: string;
  limit?: number;
  /** The figure a refusal carries in the script's reply (bytes, count). */
  detail?: number;
  key?: string;
}

/** The one place that turns a script's code into the typed error it stands for. */
export function toSchedulerError(code: number, ctx: ScriptCodeContext): SchedulerError {
  switch (code) {
    case ScriptCode.TENANT_QUOTA_EXCEEDED:
      return new TenantQuotaExceededError(ctx.tenantId ?? '', ctx.limit ?? ctx.detail ?? 0);
    case ScriptCode.PAYLOAD_TOO_LARGE:
      return new PayloadTooLargeError(ctx.detail ?? 0, ctx.limit ?? 0);
    case ScriptCode.LEASE_LOST:
      return new LockLostError(ctx.key ?? '', 'another owner holds it now, or it was removed');
    case ScriptCode.LEASE_EXPIRED:
      return new LockLostError(ctx.key ?? '', 'its lease expired before the owner finished');
    case ScriptCode.CHANGED:
      return new ConcurrentChangeError(ctx.tenantId ?? '', ctx.scheduleId ?? '');
    default:
      return unexpectedReply(ctx.key ?? 'a script', code);
  }
}

/** A reply a script's header does not list (a defect of the module, never of the input). */
export function unexpectedReply(script: string, reply: unknown): SchedulerError {
  return new UnexpectedScriptReplyError(script, JSON.stringify(reply) ?? String(reply));
}
