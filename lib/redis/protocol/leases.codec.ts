import { reason, verdict, type ScriptArg } from './codec';
import type {
  Detachment,
  DetachVerdict,
  LeaseRefusal,
  ReleaseVerdict,
  Renewal,
  Retarget,
  RetargetVerdict,
  RunRef,
} from './run.types';

/*
 * The scripts that act on runs this pod holds: extendLeases-1.lua, releaseRuns-1.lua,
 * detachRuns-1.lua and retargetRuns-1.lua. Each answers one code per run, in order.
 */

const LEASE_REFUSALS: readonly LeaseRefusal[] = ['lease-lost', 'lease-expired'];
const RETARGET_REFUSALS: readonly Exclude<RetargetVerdict, 'ok'>[] = [
  'lease-lost',
  'lease-expired',
  'too-early',
];
const RELEASE_REFUSALS: readonly Exclude<ReleaseVerdict, 'ok'>[] = ['lease-lost'];

/** `leaseMs` > 0 renews the leases, 0 gives the runs back. */
export function encodeRenewals(
  base: string,
  leaseMs: number,
  runs: readonly RunRef[],
): ScriptArg[] {
  const args: ScriptArg[] = [base, leaseMs, runs.length];
  for (const r of runs) args.push(r.member, r.fencingToken);
  return args;
}

export function decodeRenewals(reply: number[]): Renewal[] {
  return reply.map((r) => (r > 0 ? r : reason('extendLeases', r, LEASE_REFUSALS)));
}

export function encodeReleases(
  base: string,
  wakeChannel: string,
  runs: readonly RunRef[],
): ScriptArg[] {
  const args: ScriptArg[] = [base, wakeChannel, runs.length];
  for (const r of runs) args.push(r.member, r.fencingToken);
  return args;
}

export function decodeReleases(reply: number[]): ReleaseVerdict[] {
  return reply.map((code) => verdict('releaseRuns', code, RELEASE_REFUSALS));
}

export function encodeDetachments(base: string, runs: readonly Detachment[]): ScriptArg[] {
  const args: ScriptArg[] = [base, runs.length];
  for (const r of runs) args.push(r.member, r.fencingToken, r.revision, r.nextFireMs, r.nextDueMs);
  return args;
}

export function decodeDetachments(reply: number[]): DetachVerdict[] {
  return reply.map((code) => verdict('detachRuns', code, LEASE_REFUSALS));
}

export function encodeRetargets(base: string, runs: readonly Retarget[]): ScriptArg[] {
  const args: ScriptArg[] = [base, runs.length];
  for (const r of runs) args.push(r.member, r.fencingToken, r.fireMs, r.dueMs);
  return args;
}

export function decodeRetargets(reply: number[]): RetargetVerdict[] {
  return reply.map((code) => verdict('retargetRuns', code, RETARGET_REFUSALS));
}
