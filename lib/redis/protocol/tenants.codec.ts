import { reason, type ScriptArg } from './codec';

/*
 * The scripts that act on a whole tenant: pauseTenant-1.lua, resumeTenant-1.lua and
 * removeTenant-1.lua. Each takes the tenant's partition base (every key of a tenant lives in one
 * partition) and the tenant id.
 */

/** One schedule of a resumeTenant call: its next fire time, computed from `timing`. */
export interface TenantResumePlan {
  id: string;
  timing: string;
  nextFireMs: number;
  nextDueMs: number;
}

export type TenantResumeReply =
  | { status: 'resumed'; resumed: number; keptPaused: number }
  /** The tenant was not paused. */
  | { status: 'not-paused' }
  /** A schedule changed since it was read (or was created): nothing written, read and retry. */
  | { status: 'changed'; scheduleId: string };

export function encodeTenant(base: string, tenantId: string, wakeChannel: string): ScriptArg[] {
  return [base, tenantId, wakeChannel];
}

/** pauseTenant: schedules paused by the call, and all the tenant's schedules. */
export function decodeTenantPause(reply: number[]): { paused: number; schedules: number } {
  return { paused: Number(reply[0]), schedules: Number(reply[1]) };
}

export function encodeTenantResume(
  base: string,
  tenantId: string,
  wakeChannel: string,
  plans: readonly TenantResumePlan[],
): ScriptArg[] {
  const args: ScriptArg[] = [base, tenantId, wakeChannel, plans.length];
  for (const p of plans) args.push(p.id, p.timing, p.nextFireMs, p.nextDueMs);
  return args;
}

export function decodeTenantResume(reply: (number | string)[]): TenantResumeReply {
  const code = Number(reply[0]);
  if (code === 1) {
    return { status: 'resumed', resumed: Number(reply[1]), keptPaused: Number(reply[2]) };
  }
  return reason('resumeTenant', code, ['not-found', 'changed']) === 'not-found'
    ? { status: 'not-paused' }
    : { status: 'changed', scheduleId: String(reply[1] ?? '') };
}

/** removeTenant: how many schedules were removed. */
export function decodeTenantRemoval(reply: number): number {
  return Number(reply);
}
