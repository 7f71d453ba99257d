import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ScriptCode } from '../../../../lib/errors/script-codes';
import {
  ConcurrentChangeError,
  PayloadTooLargeError,
  TenantQuotaExceededError,
  UnexpectedScriptReplyError,
} from '../../../../lib';
import { KeySpace } from '../../../../lib/redis/key-space';
import { loadScripts, SCRIPTS_DIR } from '../../../../lib/redis/script-loader';
import {
  decodeDetachments,
  decodeReleases,
  decodeRenewals,
  decodeRetargets,
} from '../../../../lib/redis/protocol/leases.codec';
import {
  decodeAcquire,
  decodeExtend,
  decodeRelease,
} from '../../../../lib/redis/protocol/locks.codec';
import {
  decodeCompletions,
  decodeConfirm,
  encodeCompletions,
} from '../../../../lib/redis/protocol/runs.codec';
import {
  decodeEnable,
  decodeRemoval,
  decodeUpserts,
} from '../../../../lib/redis/protocol/schedules.codec';
import type { UpsertCall } from '../../../../lib/redis/protocol/schedule-write.types';
import { decodeTenantResume } from '../../../../lib/redis/protocol/tenants.codec';
import { decodeTrigger, encodeTrigger } from '../../../../lib/redis/protocol/triggers.codec';

/*
 * The codecs decode every reply a script's header lists, and nothing else: a code a header names
 * without a decoding fails here, and so does a reply no header names.
 */

const keys = new KeySpace('rsched', 1).dynamicSchedule('acme', 'r1', 'report');
const call: UpsertCall = {
  member: keys.member,
  id: 'r1',
  handlerKey: keys.handlerKey,
  timing: '* * * * *|UTC|0',
  payload: '',
  policy: '',
  enabled: true,
  nextFireMs: 1,
  nextDueMs: 1,
};
const guards = { maxPerTenant: 3, maxPayloadBytes: 10, wakeChannel: 'w' };

/** How each script's code reaches its codec; null for a script that answers no code. */
const decodeCode: Record<string, ((code: number) => unknown) | null> = {
  acquireLock: (code) => decodeAcquire(code),
  claimDue: null,
  clearDeadLetters: null,
  completeRuns: (code) => decodeCompletions([1, 0, code, 0, 0], 1),
  declareStatic: null,
  confirmRuns: (code) =>
    code === ScriptCode.TOO_EARLY ? decodeConfirm([code, 1]) : decodeConfirm([2, 1, 0, code]),
  detachRuns: (code) => decodeDetachments([code]),
  extendLeases: (code) => decodeRenewals([code]),
  extendLock: (code) => decodeExtend(code),
  heartbeat: null,
  pauseTenant: null,
  removeTenant: null,
  resumeTenant: (code) => decodeTenantResume([code]),
  releaseLock: (code) => decodeRelease(code),
  releaseRuns: (code) => decodeReleases([code]),
  removeSchedule: (code) => decodeRemoval(code),
  retargetRuns: (code) => decodeRetargets([code]),
  setEnabled: (code) => decodeEnable([code], keys),
  triggerRun: (code) => decodeTrigger([code]),
  upsertSchedules: (code) => decodeUpserts([1, code, 5, '', '', '', '', 0, 0, 0], [call], guards),
};

const scripts = [...loadScripts().values()];

/** The codes a script's header names ('-4 LEASE_LOST'). */
function headerCodes(file: string): number[] {
  const header = /^--\[\[([\s\S]*?)\]\]/.exec(readFileSync(join(SCRIPTS_DIR, file), 'utf8'));
  return [...(header?.[1] ?? '').matchAll(/(-?\d+) ([A-Z][A-Z_]+)/g)].map(([, code]) =>
    Number(code),
  );
}

describe('script codecs', () => {
  it('has a decoding entry for every script, and no other', () => {
    expect(Object.keys(decodeCode).sort()).toEqual(scripts.map((s) => s.name).sort());
  });

  it.each(scripts.map((s) => [s.name, `${s.name}-${s.numberOfKeys}.lua`]))(
    '%s: decodes every code its header names, and refuses one it does not',
    (name, file) => {
      const codes = headerCodes(file);
      const decode = decodeCode[name];
      if (!decode) {
        expect(codes).toEqual([]);
        return;
      }
      for (const code of codes) expect(() => decode(code)).not.toThrow();
      expect(() => decode(-99)).toThrow(UnexpectedScriptReplyError);
    },
  );

  it('decodes run codes into verdicts, and a renewal into the new lease expiry', () => {
    expect(decodeDetachments([1, -4, -5])).toEqual(['ok', 'lease-lost', 'lease-expired']);
    expect(decodeRetargets([1, -7])).toEqual(['ok', 'too-early']);
    expect(decodeReleases([1, -4])).toEqual(['ok', 'lease-lost']);
    expect(decodeRenewals([1_700_000_030_000, -4, -5])).toEqual([
      1_700_000_030_000,
      'lease-lost',
      'lease-expired',
    ]);
    expect(() => decodeDetachments([-6])).toThrow(UnexpectedScriptReplyError);
    expect(() => decodeRenewals([-7])).toThrow(UnexpectedScriptReplyError);
  });

  it('encodes triggerRun with the schedule and decodes each of its answers', () => {
    expect(encodeTrigger(keys, 'skip', 'w')).toEqual([keys.base, 't:acme:r1', 'skip', 'w']);
    expect(decodeTrigger([1, 1_700_000_000_123, 'n42'])).toEqual({
      status: 'triggered',
      fireMs: 1_700_000_000_123,
      id: 'n42',
    });
    for (const reason of ['running', 'paused', 'parked', 'finished']) {
      expect(decodeTrigger([2, reason])).toEqual({ status: 'refused', reason });
    }
    expect(decodeTrigger([0])).toEqual({ status: 'not-found' });
    expect(() => decodeTrigger([2, 'other'])).toThrow(UnexpectedScriptReplyError);
  });

  it('decodes confirmRuns by status, with one verdict per run when it checked them', () => {
    expect(decodeConfirm([1, 100, 4])).toEqual({ status: 'confirmed', nowMs: 100, epoch: 4 });
    expect(decodeConfirm([-7, 100])).toEqual({ status: 'early', nowMs: 100, epoch: -1 });
    expect(decodeConfirm([3, 100, 5])).toEqual({ status: 'check', nowMs: 100, epoch: 5 });
    expect(decodeConfirm([2, 100, 5, 1, -4, -5, -6])).toEqual({
      status: 'checked',
      nowMs: 100,
      epoch: 5,
      verdicts: ['ok', 'lease-lost', 'lease-expired', 'changed'],
    });
  });

  it('decodes completeRuns into one result per run (verdict, chained fence, sequence), with the call time and epoch', () => {
    expect(decodeCompletions([100, 7, 1, 42, 12, -5, 0, 0, 1, 0, 13], 3)).toEqual([
      { verdict: 'ok', chainedFence: 42, sequence: 12, nowMs: 100, epoch: 7 },
      { verdict: 'lease-expired', chainedFence: 0, sequence: 0, nowMs: 100, epoch: 7 },
      { verdict: 'ok', chainedFence: 0, sequence: 13, nowMs: 100, epoch: 7 },
    ]);
  });

  it('sends a completion as one 9-line argument, after the partition base, the limits and the pod id', () => {
    const args = encodeCompletions(
      'rsched:{p0}:',
      {
        deadLetters: 10,
        history: 0,
        leaseMs: 30_000,
        lookAheadMs: 1_000,
        wakeChannel: 'w',
        podId: 'host:1:ab',
      },
      [
        {
          member: keys.member,
          fencingToken: 9,
          outcome: 'retry',
          revision: '3',
          nextFireMs: 0,
          nextDueMs: 5_000,
          error: 'boom',
          skipped: 2,
          deadLetter: '',
          chain: 'wake',
          startedMs: 4_000.6,
          result: '',
        },
      ],
    );
    expect(args).toEqual([
      'rsched:{p0}:',
      10,
      0,
      30_000,
      1_000,
      'w',
      'host:1:ab',
      1,
      `${keys.member}\n9\nretry\n3\n0\n5000\n2\nw\n4000`,
      'boom',
      '',
    ]);
  });

  it('adds the run’s result as a 10th line of the run argument when it has one', () => {
    const base = {
      member: keys.member,
      fencingToken: 9,
      outcome: 'succeeded' as const,
      revision: '3',
      nextFireMs: 7_000,
      nextDueMs: 7_000,
      error: '',
      skipped: 0,
      deadLetter: '',
      chain: 'none' as const,
      startedMs: 4_000,
    };
    const limits = {
      deadLetters: 10,
      history: 20,
      leaseMs: 30_000,
      lookAheadMs: 1_000,
      wakeChannel: 'w',
      podId: 'p',
    };
    const [withResult, without] = [
      encodeCompletions('b', limits, [{ ...base, result: '{"status":200}' }]),
      encodeCompletions('b', limits, [{ ...base, result: '' }]),
    ];
    expect(withResult[8]).toBe(
      `${keys.member}\n9\nsucceeded\n3\n7000\n7000\n0\n\n4000\n{"status":200}`,
    );
    expect(without[8]).toBe(`${keys.member}\n9\nsucceeded\n3\n7000\n7000\n0\n\n4000`);
  });

  it('turns an upsert refusal into the guard error, with the tenant and the limit of the call', () => {
    const quota = decodeUpserts([1, -1, 3, '', '', '', '', 0, 0, 0], [call], guards).replies[0];
    expect(quota).toMatchObject({ status: 'refused' });
    const quotaError = (quota as { error: unknown }).error;
    expect(quotaError).toBeInstanceOf(TenantQuotaExceededError);
    expect(quotaError).toMatchObject({ tenantId: 'acme', limit: 3 });

    const size = decodeUpserts([1, -2, 12, '', '', '', '', 0, 0, 0], [call], guards).replies[0];
    const sizeError = (size as { error: unknown }).error;
    expect(sizeError).toBeInstanceOf(PayloadTooLargeError);
    expect(sizeError).toMatchObject({ bytes: 12, maxBytes: 10 });

    expect(decodeUpserts([1, 1, 60, 61, 50, 'succeeded:1:2', '', 1, 4, 1], [call], guards)).toEqual(
      {
        nowMs: 1,
        replies: [
          {
            status: 'created',
            nextFireMs: 60,
            nextDueMs: 61,
            createdAtMs: 50,
            last: 'succeeded:1:2',
            lastError: '',
            running: true,
            skippedFires: 4,
            tenantPaused: true,
          },
        ],
      },
    );
  });

  it('decodes setEnabled, removeSchedule and the lock scripts without a number reaching the caller', () => {
    expect(decodeEnable([1, 60, 61], keys)).toEqual({
      status: 'done',
      nextFireMs: 60,
      nextDueMs: 61,
    });
    expect(decodeEnable([0], keys)).toEqual({ status: 'not-found' });
    const changed = decodeEnable([-6], keys);
    expect(changed).toMatchObject({ status: 'changed' });
    const error = (changed as { error: unknown }).error;
    expect(error).toBeInstanceOf(ConcurrentChangeError);
    expect(error).toMatchObject({ tenantId: 'acme', scheduleId: 'r1', code: 'CONCURRENT_CHANGE' });

    expect([decodeRemoval(1), decodeRemoval(0)]).toEqual([true, false]);
    expect([decodeAcquire(7), decodeAcquire(0)]).toEqual([7, null]);
    expect([decodeExtend(1), decodeExtend(-4), decodeRelease(1), decodeRelease(-4)]).toEqual([
      true,
      false,
      true,
      false,
    ]);
    expect(() => decodeAcquire(-4)).toThrow(UnexpectedScriptReplyError);
  });
});
