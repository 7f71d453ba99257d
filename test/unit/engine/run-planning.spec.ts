import {
  admit,
  chainDecision,
  ChainFacts,
  ending,
  misfire,
  PlanningFacts,
} from '../../../lib/engine/run-planning';
import { DEFAULT_POLICY, resolvePolicy } from '../../../lib/policy/schedule-policy';
import { CronSchedule } from '../../../lib/time/cron';
import { ScheduleTiming } from '../../../lib/time/schedule-timing';
import { IntervalSeries, OneOffSeries } from '../../../lib/time/fire-series';
import type { SchedulePolicy } from '../../../lib';

const MIN = 60_000;
const t0 = Date.parse('2026-01-05T09:00:00Z');
const everyMinute = ScheduleTiming.of(CronSchedule.of('* * * * *'), 0);

function facts(over: Partial<PlanningFacts> = {}, policy: SchedulePolicy = {}): PlanningFacts {
  return {
    run: { claim: 'run', attempt: 1, fireMs: t0 },
    schedule: 't:acme:job',
    timing: everyMinute,
    policy: resolvePolicy(policy, DEFAULT_POLICY),
    claimedMs: t0,
    ...over,
  };
}

describe('admission of a due claim', () => {
  it('admits a first attempt on time, and a re-run whatever its lateness', () => {
    expect(admit(facts(), t0 + 10, 3)).toEqual({ event: 'admit' });
    const late = facts({
      run: { claim: 'recover', attempt: 2, fireMs: t0 },
      claimedMs: t0 + 5 * MIN,
    });
    expect(admit(late, t0 + 5 * MIN, 3)).toEqual({ event: 'admit' });
  });

  it('a stale claim only re-arms, at the next fire time', () => {
    const stale = facts({ run: { claim: 'stale', attempt: 0, fireMs: t0 } });
    expect(admit(stale, t0 + 10, 3)).toEqual({
      event: 'skip',
      plan: { fireMs: t0 + MIN, dueMs: t0 + MIN, skipped: 0 },
    });
  });

  it('gives up when every attempt was used (the larger of retry.attempts and maxAttempts)', () => {
    const fourth = facts({ run: { claim: 'recover', attempt: 4, fireMs: t0 } });
    const a = admit(fourth, t0 + 10, 3);
    expect(a).toMatchObject({ event: 'give-up', plan: { fireMs: t0 + MIN } });
    expect(a.event === 'give-up' && a.why).toMatch(/gave up after 3 attempts/);
    const withRetries = facts(
      { run: { claim: 'recover', attempt: 4, fireMs: t0 } },
      {
        retry: { attempts: 5 },
      },
    );
    expect(admit(withRetries, t0 + 10, 3)).toEqual({ event: 'admit' });
  });

  it('misfire: runs the latest missed fire time under the claim (runOnce), or skips', () => {
    const late = facts({ claimedMs: t0 + 10 * MIN + 5_000 });
    expect(admit(late, t0 + 10 * MIN + 5_000, 3)).toEqual({
      event: 'retarget',
      plan: { fireMs: t0 + 10 * MIN, dueMs: t0 + 10 * MIN, skipped: 10 },
    });
    const skipping = facts({ claimedMs: t0 + 10 * MIN + 5_000 }, { misfire: 'skip' });
    expect(admit(skipping, t0 + 10 * MIN + 5_000, 3)).toEqual({
      event: 'skip',
      plan: { fireMs: t0 + 11 * MIN, dueMs: t0 + 11 * MIN, skipped: 11 },
    });
  });

  it('misfire after waiting for a slot applies to first attempts only', () => {
    const late = t0 + 3 * MIN;
    expect(misfire(facts(), late).event).toBe('retarget');
    expect(misfire(facts({ run: { claim: 'recover', attempt: 2, fireMs: t0 } }), late)).toEqual({
      event: 'admit',
    });
  });

  it('throws, for the coordinator to park the schedule, where cron-parser cannot go on', () => {
    const lordHowe = ScheduleTiming.of(CronSchedule.of('0 2 * * *', 'Australia/Lord_Howe'), 0);
    const fire = Date.parse('2026-04-03T15:00:00Z');
    const f = facts({ timing: lordHowe, run: { claim: 'run', attempt: 1, fireMs: fire } });
    expect(() => admit(f, fire + 10 * 86_400_000, 3)).toThrow(/loop limit exceeded/);
  });
});

describe('what follows a run', () => {
  const failed = { status: 'failed' as const, error: 'boom' };
  const succeeded = { status: 'succeeded' as const, error: '' };

  it('retries a failed run with attempts left, for the same fire time, after the delay', () => {
    const f = facts({}, { retry: { attempts: 3, backoff: 'fixed', delayMs: 500, jitter: false } });
    expect(ending(f, failed, false, t0 + 1_000)).toEqual({
      outcome: 'retry',
      plan: { fireMs: t0, dueMs: t0 + 1_500, skipped: 0 },
    });
  });

  it('does not retry a final failure (NonRetryableError), whatever attempts are left', () => {
    const f = facts({}, { retry: { attempts: 3, backoff: 'fixed', delayMs: 500, jitter: false } });
    expect(ending(f, { ...failed, final: true }, false, t0 + 1_000)).toEqual({
      outcome: 'failed',
      plan: { fireMs: t0 + MIN, dueMs: t0 + MIN, skipped: 0 },
      mayChain: true,
    });
  });

  it('re-arms at the next fire time otherwise, and may chain it', () => {
    expect(ending(facts(), succeeded, false, t0 + 1_000)).toEqual({
      outcome: 'succeeded',
      plan: { fireMs: t0 + MIN, dueMs: t0 + MIN, skipped: 0 },
      mayChain: true,
    });
    expect(ending(facts(), failed, false, t0 + 1_000)).toMatchObject({ outcome: 'failed' });
  });

  it('a run that outlived the next fire times follows the overlap policy', () => {
    // Ran for 2.5 minutes: the two fire times it overlapped are skipped (overlap 'skip').
    expect(ending(facts(), succeeded, false, t0 + 2.5 * MIN)).toEqual({
      outcome: 'succeeded',
      plan: { fireMs: t0 + 3 * MIN, dueMs: t0 + 3 * MIN, skipped: 2 },
      mayChain: true,
    });
  });

  it('a detached run writes no plan and chains nothing (its schedule was re-armed at claim)', () => {
    expect(ending(facts(), succeeded, true, t0 + 1_000)).toEqual({
      outcome: 'succeeded',
      plan: { fireMs: 0, dueMs: 0, skipped: 0 },
      mayChain: false,
    });
  });
});

describe('chainDecision', () => {
  const plan = (dueMs: number) => ({ fireMs: dueMs, dueMs, skipped: 0 });
  const chain = (over: Partial<ChainFacts> = {}): ChainFacts => ({
    closing: false,
    lookAheadMs: 1_000,
    nowMs: t0,
    owned: true,
    room: true,
    ...over,
  });

  it.each<[string, number, Partial<ChainFacts>, string]>([
    ['within the look-ahead, owned, with room', t0 + 500, {}, 'chain'],
    ['due already, even if another pod owns it', t0 - 10, { owned: false }, 'chain'],
    ['ahead and owned by another pod: wake it', t0 + 500, { owned: false }, 'wake'],
    ['beyond the look-ahead', t0 + 1_500, {}, 'none'],
    ['no room', t0 + 500, { room: false }, 'none'],
    ['shutting down', t0 + 500, { closing: true }, 'none'],
    ['look-ahead off', t0 + 500, { lookAheadMs: 0 }, 'none'],
    ['nothing to arm', 0, {}, 'none'],
  ])('%s', (_, dueMs, over, expected) => {
    expect(chainDecision(plan(dueMs), chain(over))).toBe(expected);
  });
});

describe('intervals and one-offs plan through the same decisions', () => {
  const succeeded = { status: 'succeeded' as const, error: '' };
  const failed = { status: 'failed' as const, error: 'boom' };
  const anchor = t0 - 333;
  const interval = ScheduleTiming.of(new IntervalSeries(7_000, anchor), 0);
  const once = ScheduleTiming.of(new OneOffSeries(t0), 0);
  const lattice = (ms: number) => (ms - anchor) % 7_000 === 0;

  it('an interval re-arms on its lattice, and its misfire policy skips to the lattice too', () => {
    const fire = anchor + 7_000;
    const e = ending(
      facts({ timing: interval, run: { claim: 'run', attempt: 1, fireMs: fire } }),
      succeeded,
      false,
      fire + 10,
    );
    expect(e).toMatchObject({ outcome: 'succeeded', plan: { fireMs: fire + 7_000, skipped: 0 } });
    const late = facts(
      {
        timing: interval,
        run: { claim: 'run', attempt: 1, fireMs: fire },
        claimedMs: fire + 70_500,
      },
      { misfire: 'skip' },
    );
    const a = admit(late, fire + 70_500, 3);
    expect(a).toMatchObject({ event: 'skip', plan: { fireMs: fire + 77_000, skipped: 11 } });
    expect('plan' in a && lattice(a.plan.fireMs)).toBe(true);
  });

  it('a one-off is never skipped by its misfire policy, however late: it runs', () => {
    for (const own of [
      { misfire: 'skip' },
      { misfire: 'runOnce', catchUpWindowMs: 1_000 },
      { misfire: 'runAll' },
    ] as const) {
      const late = facts({ timing: once, claimedMs: t0 + 3_600_000 }, own);
      expect(admit(late, t0 + 3_600_000, 3)).toEqual({ event: 'admit' });
      expect(misfire(late, t0 + 3_600_000)).toEqual({ event: 'admit' });
    }
  });

  it('a one-off has no next fire time after its run (Infinity: the recorder finishes it), but retries first', () => {
    expect(ending(facts({ timing: once }), succeeded, false, t0 + 10)).toMatchObject({
      outcome: 'succeeded',
      plan: { fireMs: Infinity },
    });
    const retrying = facts(
      { timing: once },
      { retry: { attempts: 2, backoff: 'fixed', delayMs: 100, jitter: false } },
    );
    expect(ending(retrying, failed, false, t0 + 10)).toEqual({
      outcome: 'retry',
      plan: { fireMs: t0, dueMs: t0 + 110, skipped: 0 },
    });
    const last = facts(
      { timing: once, run: { claim: 'recover', attempt: 2, fireMs: t0 } },
      { retry: { attempts: 2, backoff: 'fixed', delayMs: 100, jitter: false } },
    );
    expect(ending(last, failed, false, t0 + 10)).toMatchObject({
      outcome: 'failed',
      plan: { fireMs: Infinity },
    });
    // A stale claim (it ran already) re-arms nowhere either.
    expect(
      admit(facts({ timing: once, run: { claim: 'stale', attempt: 0, fireMs: t0 } }), t0 + 10, 3),
    ).toMatchObject({
      event: 'skip',
      plan: { fireMs: Infinity },
    });
  });
});
