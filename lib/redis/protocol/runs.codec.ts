import { reason, verdict, type ScriptArg, type Verdict } from './codec';
import { RUN_RECORD_INFIX, TRIGGER_ID_PREFIX } from '../key-vocabulary';
import type {
  ClaimCall,
  ClaimedRun,
  ClaimReply,
  Completion,
  CompletionLimits,
  CompletionResult,
  ConfirmRefusal,
  Confirmation,
  ConfirmReply,
  LeaseRefusal,
} from './run.types';

/*
 * The hot path: claimDue-4.lua, confirmRuns-1.lua and completeRuns-1.lua run for every run, so
 * their codecs build one array of arguments per call and one object per run, nothing more.
 */

const CLAIM_FIELDS = 10;
const TRIGGER_INFIX = RUN_RECORD_INFIX + TRIGGER_ID_PREFIX;
const LEASE_REFUSALS: readonly LeaseRefusal[] = ['lease-lost', 'lease-expired'];
const CONFIRM_REFUSALS: readonly ConfirmRefusal[] = ['lease-lost', 'lease-expired', 'changed'];
const CHAIN_FLAGS: Record<Completion['chain'], string> = {
  chain: 'c',
  wake: 'w',
  park: 'p',
  finish: 'f',
  none: '',
};

export function encodeClaim(
  t: ClaimCall,
  limit: number,
  leaseMs: number,
  lookAheadMs: number,
  reservationLeaseMs: number,
): ScriptArg[] {
  return [
    t.due,
    t.fence,
    t.hashBase,
    t.epoch,
    limit,
    leaseMs,
    lookAheadMs,
    t.share.pods,
    t.share.rank,
    t.offset,
    t.maxAhead,
    reservationLeaseMs,
  ];
}

/** The leases the claim was made with (the reply gives their start, not their end). */
export function decodeClaim(
  reply: ScriptArg[],
  leaseMs: number,
  reservationLeaseMs: number,
): ClaimReply {
  const nowMs = Number(reply[0]);
  const count = Number(reply[6]);
  const runs: ClaimedRun[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const o = 7 + i * CLAIM_FIELDS;
    const dueMs = Number(reply[o + 2]);
    const attempt = Number(reply[o + 3]);
    const member = String(reply[o]);
    runs[i] = {
      member,
      fireMs: Number(reply[o + 1]),
      dueMs,
      attempt,
      fencingToken: Number(reply[o + 4]),
      // As claimDue-4.lua sets it: from the due time of a reservation, from now otherwise.
      leaseUntilMs: attempt === 1 && dueMs > nowMs ? dueMs + reservationLeaseMs : nowMs + leaseMs,
      claim: attempt === 0 ? 'stale' : attempt === 1 ? firstClaim(member) : 'recover',
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

export function encodeConfirm(
  base: string,
  notBeforeMs: number,
  epoch: number,
  leaseUntilMs: number,
  runs: readonly Confirmation[],
): ScriptArg[] {
  const args: ScriptArg[] = [base, notBeforeMs, epoch, leaseUntilMs, runs.length];
  for (const r of runs) args.push(r.member, r.fencingToken, r.revision);
  return args;
}

export function decodeConfirm(reply: number[]): ConfirmReply {
  const status = Number(reply[0]);
  const nowMs = Number(reply[1]);
  const epoch = reply[2] === undefined ? -1 : Number(reply[2]);
  if (status === 1) return { status: 'confirmed', nowMs, epoch };
  if (status === 3) return { status: 'check', nowMs, epoch };
  if (status === 2) {
    const verdicts: Verdict<ConfirmRefusal>[] = new Array(reply.length - 3);
    for (let i = 3; i < reply.length; i++) {
      verdicts[i - 3] = verdict('confirmRuns', Number(reply[i]), CONFIRM_REFUSALS);
    }
    return { status: 'checked', nowMs, epoch, verdicts };
  }
  reason('confirmRuns', status, ['too-early']);
  return { status: 'early', nowMs, epoch };
}

export function encodeCompletions(
  base: string,
  limits: CompletionLimits,
  runs: readonly Completion[],
): ScriptArg[] {
  const args: ScriptArg[] = [
    base,
    limits.deadLetters,
    limits.history,
    limits.leaseMs,
    limits.lookAheadMs,
    limits.wakeChannel,
    limits.podId,
    runs.length,
  ];
  for (const r of runs) {
    // One argument of 9 lines per run, 10 with a result (see the header): cheaper to send than ten.
    const run =
      `${r.member}\n${r.fencingToken}\n${r.outcome}\n${r.revision}\n${r.nextFireMs}\n` +
      `${r.nextDueMs}\n${r.skipped}\n${CHAIN_FLAGS[r.chain]}\n${Math.max(0, Math.floor(r.startedMs))}`;
    args.push(r.result === '' ? run : `${run}\n${r.result}`, r.error, r.deadLetter);
  }
  return args;
}

/** Values per run in completeRuns' reply: code, chained fence, sequence. */
const COMPLETION_FIELDS = 3;

/** One result per run sent, in order. */
export function decodeCompletions(reply: number[], count: number): CompletionResult[] {
  const nowMs = Number(reply[0]);
  const epoch = Number(reply[1]);
  const results: CompletionResult[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const o = 2 + COMPLETION_FIELDS * i;
    results[i] = {
      verdict: verdict('completeRuns', Number(reply[o]), LEASE_REFUSALS),
      chainedFence: Number(reply[o + 1]),
      sequence: Number(reply[o + 2]),
      nowMs,
      epoch,
    };
  }
  return results;
}

/** A first attempt of a triggered run's record ('<schedule>:r:n<number>'), or of the series. */
function firstClaim(member: string): 'run' | 'trigger' {
  return member.includes(TRIGGER_INFIX) ? 'trigger' : 'run';
}

function nullable(value: ScriptArg): number | null {
  const n = Number(value);
  return n < 0 ? null : n;
}
