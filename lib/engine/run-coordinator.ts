import { Logger } from '@nestjs/common';
import { LATE_COMPLETION_REJECTED } from '../redis-scheduler.messages';
import type { ResolvedSchedulerOptions } from '../interfaces/redis-scheduler-options.interface';
import type { ResolvedPolicy } from '../interfaces/schedule-policy.interface';
import type { ScheduleContext } from '../interfaces/schedule-context.interface';
import type { RegisteredHandler } from '../discovery/handler.registry';
import { RunTimeoutError } from '../errors/run-timeout.error';
import type { SchedulerEvents } from '../events/scheduler-events';
import type { RedisConnection } from '../redis/redis-client.provider';
import type { ClaimedRun, Completion, Detachment } from '../redis/redis-scripts';
import { CronSchedule } from '../time/cron';
import type { RedisClock } from '../time/redis-clock';
import { Plan, planAfterRun, planMisfire, withJitter } from './fire-planner';
import { PartitionBatcher } from './partition-batcher';
import { RunExecutor, RunOutcome } from './run-executor';
import { LeasedRun, LeaseKeeper } from './run-lease';
import { decodePolicy, resolvePolicy, retryDelayMs } from './schedule-policy';

/** Where a claimed run came from. */
export interface RunSource {
  partition: number;
  handler: RegisteredHandler;
}

interface ActiveRun extends LeasedRun {
  /** Shutdown handed the lease back: the run's end must not be recorded. */
  givenBack: boolean;
  /** The handler is done and its outcome is being recorded: shutdown lets that finish. */
  finished: boolean;
}

/** A claimed run with what every step needs about it. */
interface Claimed {
  source: RunSource;
  run: ClaimedRun;
  cron: CronSchedule;
  policy: ResolvedPolicy;
  /** The schedule's member (a detached run's member ends in ':r:<fire>'). */
  scheduleMember: string;
  /** Redis time of the claim. */
  claimedMs: number;
  /** Missed fire times passed over when the claim was retargeted to the latest one. */
  skippedBefore: number;
}

/** A detached run record: '<schedule member>:r:<fire ms>' (see includes/runRecords.lua). */
const DETACHED = /^((?:t:[^:]+:[^:]+)|(?:c:[^:]+)):r:\d+$/;

/**
 * Takes a claimed run to its end: applies the misfire policy, detaches 'allow' runs, runs the
 * handler with its lease, timeout and signal, and records the outcome (success, retry, final
 * failure with a dead letter, or skipped fire times), re-arming the schedule.
 */
export class RunCoordinator {
  private readonly logger = new Logger('RedisScheduler');
  private readonly executor = new RunExecutor();
  private readonly leases: LeaseKeeper;
  private readonly completions: PartitionBatcher<Completion>;
  private readonly detachments: PartitionBatcher<Detachment>;
  private readonly retargets: PartitionBatcher<{ member: string; token: string; fireMs: number }>;
  private readonly active = new Set<ActiveRun>();
  private drained: (() => void) | undefined;
  private closing = false;

  constructor(
    private readonly options: ResolvedSchedulerOptions,
    private readonly connection: RedisConnection,
    private readonly clock: RedisClock,
    private readonly events: SchedulerEvents,
    /** Called when a run ends and when a schedule is re-armed at `dueMs` (Redis time). */
    private readonly onRearm: (source: RunSource, dueMs: number) => void,
    private readonly onRunEnd: () => void,
  ) {
    const { scripts, keys } = connection;
    this.leases = new LeaseKeeper(options.leaseMs, clock, scripts, keys);
    this.completions = new PartitionBatcher(
      (p, items) =>
        scripts.completeRuns(
          keys.partitionBases[p],
          options.deadLetterLimit,
          options.runHistory,
          items,
        ),
      options.batchSize,
    );
    this.retargets = new PartitionBatcher(
      (p, items) => scripts.retargetRuns(keys.partitionBases[p], items),
      options.batchSize,
    );
    this.detachments = new PartitionBatcher(
      (p, items) => scripts.detachRuns(keys.partitionBases[p], items),
      options.batchSize,
    );
  }

  get inFlight(): number {
    return this.active.size;
  }

  /** Shutdown began: runs claimed from now on are given back instead of started. */
  close(): void {
    this.closing = true;
  }

  dispatch(source: RunSource, run: ClaimedRun, claimedMs: number): void {
    if (this.closing) {
      void this.giveBack([{ partition: source.partition, member: run.member, token: run.token }]);
      return;
    }
    let cron: CronSchedule;
    try {
      cron = CronSchedule.of(run.cron, run.timeZone);
    } catch (error) {
      this.logger.error(`Schedule "${run.id}" holds an unusable cron: ${(error as Error).message}`);
      return;
    }
    const c: Claimed = {
      source,
      run,
      cron,
      policy: resolvePolicy(decodePolicy(run.policy), this.options.defaultPolicy),
      scheduleMember: DETACHED.exec(run.member)?.[1] ?? run.member,
      claimedMs,
      skippedBefore: 0,
    };
    if (run.claim === 'stale') {
      void this.complete(c, 'skipped', '', this.planAfter(c), undefined);
      return;
    }
    const maxAttempts = Math.max(c.policy.retry.attempts, this.options.maxAttempts);
    if (run.attempt > maxAttempts) {
      const why = `gave up after ${maxAttempts} attempts that each lost their lease or failed`;
      this.logger.error(`Run of "${run.id}" for ${new Date(run.fireMs).toISOString()} ${why}`);
      void this.complete(c, 'failed', why, this.planAfter(c), undefined);
      return;
    }
    if (run.claim === 'run') {
      const plan = planMisfire(
        cron,
        c.scheduleMember,
        run.jitterMs,
        run.fireMs,
        claimedMs,
        c.policy,
      );
      if (plan && plan.dueMs <= claimedMs && c.policy.misfire !== 'skip') {
        // The fire time to run instead is due already: run it now under this claim.
        void this.retarget(c, plan);
        return;
      }
      if (plan) {
        void this.complete(c, 'skipped', '', plan, undefined);
        return;
      }
    }
    void this.start(c);
  }

  /** Waits up to `timeoutMs` for the runs in flight, then aborts the rest and gives their leases back. */
  async shutdown(timeoutMs: number): Promise<void> {
    if (this.active.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        this.drained = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    const remaining = [...this.active].filter((run) => !run.finished);
    if (remaining.length > 0) {
      this.logger.warn(
        `Shutting down with ${remaining.length} run(s) still in flight after ${timeoutMs} ms: ` +
          'aborting their signals and giving their leases back',
      );
      for (const run of remaining) {
        run.givenBack = true;
        run.controller.abort(new Error('The application is shutting down'));
      }
      await this.giveBack(remaining);
    }
    this.leases.stop();
  }

  private async retarget(c: Claimed, plan: Plan): Promise<void> {
    const { run } = c;
    const code = await this.retargets
      .submit(c.source.partition, { member: run.member, token: run.token, fireMs: plan.fireMs })
      .catch(() => -1);
    if (code !== 1) {
      this.logger.warn(
        `Run of "${run.id}" lost its lease before it started; another pod will run it`,
      );
      return;
    }
    await this.start({ ...c, run: { ...run, fireMs: plan.fireMs }, skippedBefore: plan.skipped });
  }

  /** Ends leases now so another pod re-claims the runs at once; bounded, as Redis may be down. */
  private async giveBack(
    runs: { partition: number; member: string; token: string }[],
  ): Promise<void> {
    const timeout = new Promise<'timeout'>((resolve) =>
      setTimeout(() => resolve('timeout'), 2_000).unref(),
    );
    const result = await Promise.race([
      this.leases.giveBack(runs).catch((error: Error) => error),
      timeout,
    ]);
    if (result !== undefined) {
      const why = result === 'timeout' ? 'Redis did not answer' : result.message;
      this.logger.warn(
        `Could not give ${runs.length} lease(s) back (${why}); they expire after leaseMs`,
      );
    }
  }

  private async start(c: Claimed): Promise<void> {
    const { run } = c;
    if (this.closing) {
      await this.giveBack([
        { partition: c.source.partition, member: run.member, token: run.token },
      ]);
      return;
    }
    if (this.clock.now() >= run.leaseUntilMs) {
      // Claimed, then this process stalled (GC pause, SIGSTOP) past the lease: another pod re-runs it.
      this.logger.warn(
        `Run of "${run.id}" was claimed but its lease ran out before it could start`,
      );
      return;
    }
    let member = run.member;
    if (c.policy.overlap === 'allow' && run.claim === 'run') {
      const next = planAfterRun(
        c.cron,
        c.scheduleMember,
        run.jitterMs,
        run.fireMs,
        c.claimedMs,
        c.claimedMs,
        c.policy,
      );
      const code = await this.detachments
        .submit(c.source.partition, {
          member,
          token: run.token,
          timingRevision: run.timingRevision,
          nextFireMs: next.fireMs,
          nextDueMs: next.dueMs,
        })
        .catch(() => -1);
      if (code < 0) {
        this.logger.warn(
          `Run of "${run.id}" lost its lease before it started; another pod will run it`,
        );
        return;
      }
      this.onRearm(c.source, next.dueMs);
      member = `${member}:r:${run.fireMs}`;
    }
    const active: ActiveRun = {
      partition: c.source.partition,
      member,
      token: run.token,
      scheduleId: run.id,
      leaseUntilMs: run.leaseUntilMs,
      controller: new AbortController(),
      givenBack: false,
      finished: false,
    };
    this.active.add(active);
    this.leases.add(active);
    const outcome = await this.execute(c, active);
    active.finished = true;
    this.leases.delete(active);
    if (!active.givenBack) await this.record(c, active, outcome);
    this.active.delete(active);
    if (this.active.size === 0) this.drained?.();
    this.onRunEnd();
  }

  private async execute(c: Claimed, active: ActiveRun): Promise<RunOutcome> {
    const { run, policy } = c;
    const ctx: ScheduleContext = {
      scheduleId: run.id,
      fireTime: new Date(run.fireMs),
      dueTime: new Date(withJitter(c.cron, c.scheduleMember, run.jitterMs, run.fireMs).dueMs),
      attempt: run.attempt,
      fencingToken: run.fencingToken,
      signal: active.controller.signal,
    };
    if (run.kind === 't') ctx.tenantId = run.tenantId;
    this.events.emit('run.started', this.describe(c));
    const signal = active.controller.signal;
    const timer =
      policy.timeoutMs > 0
        ? setTimeout(
            () => active.controller.abort(new RunTimeoutError(run.id, policy.timeoutMs)),
            policy.timeoutMs,
          )
        : undefined;
    // The run ends when the handler settles or its signal aborts, whichever comes first: a handler
    // that ignores its signal cannot hold a timed-out or lost run open.
    const aborted = new Promise<RunOutcome>((resolve) => {
      const settle = () =>
        resolve({
          status: 'failed',
          error: String((signal.reason as Error)?.message ?? signal.reason),
        });
      if (signal.aborted) settle();
      else signal.addEventListener('abort', settle, { once: true });
    });
    try {
      return await Promise.race([
        this.executor.execute(c.source.handler, run.payload, ctx),
        aborted,
      ]);
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  private async record(c: Claimed, active: ActiveRun, outcome: RunOutcome): Promise<void> {
    const { run, policy } = c;
    const detached = active.member !== run.member;
    if (outcome.status === 'failed' && run.attempt < policy.retry.attempts) {
      const retryAt = this.clock.now() + retryDelayMs(policy.retry, run.attempt);
      const code = await this.complete(
        c,
        'retry',
        outcome.error,
        { fireMs: run.fireMs, dueMs: retryAt, skipped: 0 },
        active,
      );
      if (code === 1) {
        this.events.emit('run.retrying', {
          ...this.describe(c),
          error: outcome.error,
          retryAt: new Date(retryAt),
        });
      }
      return;
    }
    const plan: Plan = detached ? { fireMs: 0, dueMs: 0, skipped: 0 } : this.planAfter(c);
    const code = await this.complete(c, outcome.status, outcome.error, plan, active);
    if (code !== 1) return;
    if (outcome.status === 'succeeded') this.events.emit('run.succeeded', this.describe(c));
    else this.events.emit('run.failed', { ...this.describe(c), error: outcome.error });
  }

  private planAfter(c: Claimed): Plan {
    const { run } = c;
    return planAfterRun(
      c.cron,
      c.scheduleMember,
      run.jitterMs,
      run.fireMs,
      c.claimedMs,
      this.clock.now(),
      c.policy,
    );
  }

  /**
   * Records a run's end (or a retry, or skipped fire times) and re-arms its schedule; retries the
   * write while the lease is still ours. Returns the script's code, or 0 if Redis was unreachable.
   */
  private async complete(
    c: Claimed,
    outcome: Completion['outcome'],
    error: string,
    plan: Plan,
    active: ActiveRun | undefined,
  ): Promise<number> {
    const { run } = c;
    const finalFailure = outcome === 'failed';
    const completion: Completion = {
      member: active?.member ?? run.member,
      token: run.token,
      outcome,
      timingRevision: run.timingRevision,
      nextFireMs: plan.fireMs,
      nextDueMs: plan.dueMs,
      error,
      skipped: plan.skipped + c.skippedBefore,
      deadLetter: finalFailure ? this.deadLetter(c, error) : '',
    };
    for (let attempt = 0; ; attempt++) {
      try {
        const code = await this.completions.submit(c.source.partition, completion);
        if (code < 0) {
          const reason = active?.controller.signal.aborted
            ? 'lease lost during the run'
            : `code ${code}`;
          this.logger.warn(LATE_COMPLETION_REJECTED(run.id, new Date(run.fireMs), reason));
          this.events.emit('run.rejected', { ...this.describe(c), reason });
          return code;
        }
        if (plan.dueMs > 0) this.onRearm(c.source, plan.dueMs);
        const skipped = plan.skipped + c.skippedBefore;
        if (skipped > 0) {
          this.events.emit('fires.skipped', {
            scheduleId: run.id,
            tenantId: run.kind === 't' ? run.tenantId : undefined,
            count: skipped,
            resumeAt: new Date(plan.fireMs),
          });
        }
        return code;
      } catch (err) {
        const leaseUntil = active?.leaseUntilMs ?? run.leaseUntilMs;
        if (this.clock.now() >= leaseUntil) {
          this.logger.warn(
            `Could not record the run of "${run.id}" for ${new Date(run.fireMs).toISOString()} ` +
              `(${(err as Error).message}); its lease has expired, so it will be re-run`,
          );
          return 0;
        }
        await new Promise((resolve) => setTimeout(resolve, Math.min(2_000, 100 * 2 ** attempt)));
      }
    }
  }

  private deadLetter(c: Claimed, error: string): string {
    const { run } = c;
    return JSON.stringify({
      tenantId: run.kind === 't' ? run.tenantId : undefined,
      scheduleId: run.id,
      handler: c.source.handler.name,
      fireTime: new Date(run.fireMs).toISOString(),
      attempts: run.attempt,
      error,
      failedAt: new Date(this.clock.now()).toISOString(),
    });
  }

  private describe(c: Claimed) {
    const { run } = c;
    return {
      scheduleId: run.id,
      tenantId: run.kind === 't' ? run.tenantId : undefined,
      fireTime: new Date(run.fireMs),
      attempt: run.attempt,
      fencingToken: run.fencingToken,
    };
  }
}
