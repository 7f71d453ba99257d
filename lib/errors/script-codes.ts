import { SchedulerError } from './scheduler.error';
import { TenantQuotaExceededError } from './tenant-quota-exceeded.error';
import { PayloadTooLargeError } from './payload-too-large.error';
import { LockLostError } from './lock-lost.error';

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

export interface ScriptCodeContext {
  tenantId?: string;
  limit?: number;
  /** Second element of the script's reply, when it carries a figure (bytes, count). */
  detail?: number;
  key?: string;
}

/** The one place that turns a script's negative code into the typed error it stands for. */
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
    default:
      return new SchedulerError(
        'SCRIPT_ERROR',
        `Unexpected script code ${code} for ${ctx.key ?? 'a script'}.`,
      );
  }
}
