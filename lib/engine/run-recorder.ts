import { Logger } from '@nestjs/common';
import { LATE_COMPLETION_REJECTED, RUN_FAILED } from '../redis-scheduler.messages';
import type { ResolvedSchedulerOptions } from '../interfaces/redis-scheduler-options.interface';
import type { SchedulerEvents } from '../events/scheduler-events';
import type { RedisConnection } from '../redis/redis-client.provider';
import type { Completion, CompletionResult } from '../redis/protocol/run.types';
import type { RedisClock } from '../time/redis-clock';
import { timerDelay } from '../time/timer-delay';
import { ActiveRun, Claimed, moveRun, planningFacts, Recording } from './claimed-run';
import type { Plan } from './fire-planner';
import type { RunEvent } from './run-lifecycle';
import type { RunOutcome } from './run-executor';
import { PartitionQueue } from './partition-batcher';
import { reservationLeaseMs } from './run-lease';
import { resultJson } from './run-result';
import { deadLetterJson, describe, withResult } from './run-payloads';
import { ending } from './run-planning';

/** What the RunCoordinator does around the writes. */
export interface RecorderHooks {
  /** Whether completeRuns should chain the next fire time (Plans.chainDecision). */
  chainFor(c: Claimed, plan: Plan): Completion['chain'];
  /** completeRuns reserved the next fire time for this pod; `c` is reused for it. */
  chained(c: Claimed, fireMs: number, dueMs: number, result: CompletionResult): void;
  /** The schedule was re-armed at `dueMs` (Redis time). */
  rearmed(c: Claimed, dueMs: number): void;
  /** The run's end is written or given up. */
  forget(active: ActiveRun): void;
}

const NO_PLAN: Plan = Object.freeze({ fireMs: 0, dueMs: 0, skipped: 0 });

/**
 * Writes the ends of runs (completeRuns, batched per partition and turn of the event loop):
 * success, final failure with its dead letter, a retry, skipped fire times, or a parked schedule;
 * tries a write again with backoff while the lease lasts; and announces what was written
 * (SchedulerEvents) or that a late completion was refused.
 */
export class RunRecorder {
  private readonly logger = new Logger('RedisScheduler');
  private readonly queue: PartitionQueue<Recording, CompletionResult>;
  /** Shut down: writes that failed are not tried again (their leases run out). */
  private stopped = false;
  private readonly keepFinishedMs: number;

  constructor(
    options: ResolvedSchedulerOptions,
    connection: RedisConnection,
    private readonly clock: RedisClock,
    private readonly events: SchedulerEvents,
    podId: string,
    private readonly hooks: RecorderHooks,
  ) {
    this.keepFinishedMs = options.keepFinishedMs;
    const { scripts, keys } = connection;
    const limits = {
      deadLetters: options.deadLetterLimit,
      history: options.runHistory,
      // A chained next fire time is a reservation: its short lease, from its due time.
      leaseMs: reservationLeaseMs(options.leaseMs),
      lookAheadMs: options.lookAheadMs,
      wakeChannel: keys.wakeChannel,
      podId,
    };
    this.queue = new PartitionQueue<Recording, CompletionResult>(
      (p, items) =>
        scripts.completeRuns(
          keys.partitionBases[p],
          limits,
          items.map((r) => r.completion),
        ),
      options.batchSize,
      (r, result) => this.written(r, result),
      (items, error) => this.failed(items, error as Error),
    );
  }

  /**
   * A handler is done: writes its end, its retry, or (when the schedule's next fire time cannot be
   * computed) its schedule parked.
   */
  recordEnd(active: ActiveRun): void {
    const c = active.claimed;
    const outcome = active.outcome ?? { status: 'failed', error: 'no outcome' };
    try {
      // A detached or triggered run ends its own record: the schedule's series is not its to move.
      const detached = active.member !== c.run.member || c.info.trigger !== undefined;
      const e = ending(planningFacts(c), outcome, detached, this.clock.now());
      const chain = e.outcome !== 'retry' && e.mayChain ? this.hooks.chainFor(c, e.plan) : 'none';
      if (outcome.status === 'failed') this.logFailure(c, outcome, e.outcome === 'retry', e.plan);
      moveRun(c, 'finished', this.logger);
      this.write(c, e.outcome, outcome.error, e.plan, active, chain);
    } catch (error) {
      if (moveRun(c, 'unplannable', this.logger) === 'park') this.park(c, error, active);
    }
  }

  /** One line per failed attempt: WARN when a retry follows, ERROR with the stack when none does. */
  private logFailure(c: Claimed, outcome: RunOutcome, retry: boolean, plan: Plan): void {
    const failed = `${RUN_FAILED(c.info.id, new Date(c.run.fireMs), c.run.attempt)}: ${outcome.error}`;
    if (retry) {
      this.logger.warn(`${failed}; retrying at ${new Date(plan.dueMs).toISOString()}`);
    } else {
      this.logger.error(failed, outcome.stack);
    }
  }

  /** A handler is being invoked. */
  started(c: Claimed): void {
    if (this.events.wants('run.started')) this.events.emit('run.started', describe(c));
  }

  /** From now on a failed write is given up: the app is shutting down. */
  stop(): void {
    this.stopped = true;
  }

  /** Writes a run's end (or a retry, or skipped fire times) and where its schedule goes next. */
  write(
    c: Claimed,
    outcome: Completion['outcome'],
    error: string,
    plan: Plan,
    active: ActiveRun | undefined,
    chain: Completion['chain'] = 'none',
  ): void {
    const { run } = c;
    // No fire time after this one (a one-off's): the schedule is finished, not re-armed; the
    // next due field carries how long Redis keeps it (completeRuns-1.lua, chain 'f').
    if (plan.fireMs === Infinity && outcome !== 'retry' && chain !== 'park') {
      chain = 'finish';
      plan = { fireMs: 0, dueMs: this.keepFinishedMs, skipped: plan.skipped };
    }
    const result = active?.outcome ? resultJson(active.outcome.result) : '';
    const completion: Completion = {
      member: active?.member ?? run.member,
      fencingToken: run.fencingToken,
      outcome,
      revision: run.revision,
      nextFireMs: plan.fireMs,
      nextDueMs: plan.dueMs,
      error,
      skipped: plan.skipped + c.skippedBefore,
      // A parked schedule's dead letter says why, whatever its last run's outcome was.
      deadLetter:
        outcome === 'failed' || chain === 'park'
          ? deadLetterJson(c, error, result, this.clock.now())
          : '',
      chain,
      startedMs: active?.startedMs ?? 0,
      result,
    };
    this.queue.add(c.source.partition, { c, completion, active, tries: 0 });
  }

  /**
   * Parks the schedule of `c`: its run (or, with `active`, its handler's outcome) is written with
   * a dead letter saying why, and the schedule is paused instead of re-armed (state 'parked').
   */
  park(c: Claimed, error: unknown, active: ActiveRun | undefined): void {
    const reason = `cannot compute its fire times: ${(error as Error)?.message ?? String(error)}`;
    this.logger.error(
      `Schedule "${c.info.id}" is parked: it ${reason}. Resume or upsert it to try again.`,
    );
    if (this.events.wants('schedule.parked')) {
      this.events.emit('schedule.parked', { ...describe(c), error: reason });
    }
    this.write(c, active?.outcome?.status ?? 'failed', reason, NO_PLAN, active, 'park');
  }

  /** completeRuns answered for one run. */
  private written(r: Recording, result: CompletionResult): void {
    const { c, completion, active } = r;
    if (result.verdict !== 'ok') {
      moveRun(c, 'refused', this.logger);
      this.rejected(r, result.verdict);
    } else {
      moveRun(c, eventOf(completion), this.logger);
      this.announce(r, result.sequence);
      // Last: a chained next run reuses `c`.
      if (result.chainedFence > 0) {
        this.hooks.chained(c, completion.nextFireMs, completion.nextDueMs, result);
      } else if (completion.nextDueMs > 0 && completion.chain !== 'finish') {
        this.hooks.rearmed(c, completion.nextDueMs);
      }
    }
    if (active) this.hooks.forget(active);
  }

  /** completeRuns failed (Redis unreachable): written again while the lease lasts, else given up. */
  private failed(items: Recording[], error: Error): void {
    if (this.events.wants('redis.error')) {
      this.events.emit('redis.error', { operation: 'complete', error: error.message });
    }
    const now = this.clock.now();
    for (const r of items) {
      const leaseUntil = r.active?.leaseUntilMs ?? r.c.run.leaseUntilMs;
      if (
        now < leaseUntil &&
        !this.stopped &&
        moveRun(r.c, 'write-failed', this.logger) === 'write-again'
      ) {
        const delay = timerDelay(100 * 2 ** r.tries++, 2_000);
        setTimeout(() => this.queue.add(r.c.source.partition, r), delay).unref();
        continue;
      }
      moveRun(r.c, 'write-abandoned', this.logger);
      this.abandoned(r, error);
      if (r.active) this.hooks.forget(r.active);
    }
  }

  /**
   * The events of a written completion: skipped fire times, then a run's end or its retry.
   * `sequence`: the run's number among its schedule's runs, as completeRuns answered it.
   */
  private announce(r: Recording, sequence: number): void {
    const { c, completion, active } = r;
    if (completion.skipped > 0 && this.events.wants('fires.skipped')) {
      this.events.emit('fires.skipped', {
        scheduleId: c.info.id,
        tenantId: c.info.tenantId,
        handler: c.source.handler.name,
        count: completion.skipped,
        resumeAt: new Date(completion.nextFireMs),
      });
    }
    if (!active) return;
    // The store's run history: the run's own objects, nothing built per run.
    this.events.runSink?.(c.info, c.run, completion, active.startedMs, this.clock.now(), sequence);
    if (completion.outcome === 'retry') {
      if (this.events.wants('run.retrying')) {
        this.events.emit(
          'run.retrying',
          withResult(
            { ...describe(c), error: completion.error, retryAt: new Date(completion.nextDueMs) },
            active,
          ),
        );
      }
    } else if (completion.outcome === 'succeeded') {
      if (this.events.wants('run.succeeded')) {
        const result = active.outcome?.result;
        this.events.emit(
          'run.succeeded',
          result === undefined ? describe(c) : { ...describe(c), result },
        );
      }
    } else if (this.events.wants('run.failed')) {
      this.events.emit(
        'run.failed',
        withResult({ ...describe(c), error: completion.error }, active),
      );
    }
  }

  /** A late completion Redis refused: the lease had been lost. */
  private rejected(r: Recording, verdict: string): void {
    const { c, active } = r;
    const reason = active?.abort.aborted ? 'lease lost during the run' : verdict;
    this.logger.warn(LATE_COMPLETION_REJECTED(c.info.id, new Date(c.run.fireMs), reason));
    if (this.events.wants('run.rejected')) {
      this.events.emit('run.rejected', { ...describe(c), reason });
    }
  }

  /** A write given up: the lease ran out first, or the app has shut down. */
  private abandoned(r: Recording, error: Error): void {
    const { c } = r;
    const then = this.stopped
      ? 'the application has shut down, so it will be re-run once its lease runs out'
      : 'its lease has expired, so it will be re-run';
    this.logger.warn(
      `Could not record the run of "${c.info.id}" for ${new Date(c.run.fireMs).toISOString()} ` +
        `(${error.message}); ${then}`,
    );
  }
}

/** The lifecycle event a written completion means. */
function eventOf(completion: Completion): RunEvent {
  if (completion.chain === 'park') return 'wrote-park';
  if (completion.outcome === 'retry') return 'wrote-retry';
  return completion.outcome === 'skipped' ? 'wrote-skip' : 'wrote-end';
}
