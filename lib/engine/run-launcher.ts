import { Logger } from '@nestjs/common';
import type { RunInstrumentation } from '../events/run-instrumentation';
import { performance } from 'node:perf_hooks';
import { timerDelay } from '../time/timer-delay';
import { withTimeLimit } from '../time/time-limit';
import type { ActiveRun, Claimed } from './claimed-run';
import { RunAbort } from './run-abort';
import { RunExecutor, RunOutcome } from './run-executor';
import type { LeaseKeeper } from './run-lease';

/** Weight of the newest handler duration in the running average. */
const AVERAGE_WEIGHT = 0.05;

export interface LauncherHooks {
  /** A handler is being invoked. */
  started(c: Claimed): void;
  /** Redis time as this pod estimates it (ms): when a handler starts. */
  now(): number;
  /** A handler is done and its slot is free. */
  slotFreed(): void;
  /** Handlers that are done, on the next turn of the event loop, to record their ends. */
  ended(active: ActiveRun): void;
}

/**
 * Runs handlers under their leases: counts the slots they take, keeps each started run (its
 * lease with the LeaseKeeper, its abort, its outcome) until its end is written, averages handler
 * durations, and at shutdown waits for the runs in flight, then aborts the rest and gives their
 * leases back.
 */
export class RunLauncher {
  private readonly logger = new Logger('RedisScheduler');
  private readonly executor: RunExecutor;
  /** Started and not yet recorded. */
  private readonly active = new Set<ActiveRun>();
  /** Runs whose handler is done, to record on the next turn of the event loop. */
  private ended: ActiveRun[] = [];
  private drained: (() => void) | undefined;
  /** Slots taken: handlers running, and 'allow' runs being detached before they start. */
  private taken = 0;
  private average: number;

  constructor(
    private readonly leases: LeaseKeeper,
    private readonly hooks: LauncherHooks,
    initialAverageMs: number,
    instrumentation?: Pick<RunInstrumentation, 'wrap' | 'observers'>,
  ) {
    this.executor = new RunExecutor(instrumentation);
    this.average = Math.max(1, initialAverageMs);
  }

  get running(): number {
    return this.taken;
  }

  /** The handlers' average duration (ms), starting from a guess. */
  get averageRunMs(): number {
    return this.average;
  }

  /** A slot is taken for a run about to start (or to be detached first). */
  take(): void {
    this.taken++;
  }

  /** A taken slot is given up without a handler run (the detach failed). */
  untake(): void {
    this.taken--;
  }

  /**
   * Invokes the handler (in a slot taken before). No async frame per run: at thousands of runs a
   * second, what each run holds until its completion is written is what the garbage collector
   * copies, so a run holds its ActiveRun and, later, its Recording, and nothing else.
   */
  launch(c: Claimed, member: string, dueMs: number): void {
    const { run } = c;
    const active: ActiveRun = {
      partition: c.source.partition,
      member,
      fencingToken: run.fencingToken,
      scheduleId: c.info.id,
      leaseUntilMs: run.leaseUntilMs,
      abort: new RunAbort(),
      claimed: c,
      givenBack: false,
      finished: false,
      outcome: undefined,
      startedMs: this.hooks.now(),
    };
    this.active.add(active);
    this.leases.add(active);
    this.hooks.started(c);
    const startedAt = performance.now();
    void this.executor
      .run({
        handler: c.source.handler,
        payloadJson: run.payload,
        scheduleId: c.info.id,
        tenantId: c.info.tenantId,
        fireMs: run.fireMs,
        dueMs,
        attempt: run.attempt,
        fencingToken: run.fencingToken,
        trigger: c.info.trigger,
        timeoutMs: c.policy.timeoutMs,
        abort: active.abort,
      })
      .then((outcome) => this.done(active, outcome, startedAt));
  }

  /** The run's end is written (or given up): shutdown no longer waits for it. */
  forget(active: ActiveRun): void {
    this.active.delete(active);
    if (this.active.size === 0) this.drained?.();
  }

  /** Waits up to `timeoutMs` for the runs in flight, then aborts the rest and gives their leases back. */
  async shutdown(timeoutMs: number): Promise<void> {
    if (this.active.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timerDelay(timeoutMs));
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
        run.abort.abort(new Error('The application is shutting down'));
      }
      await giveBackWithin(this.leases.giveBack(remaining), remaining.length, this.logger);
    }
    this.leases.stop();
  }

  private done(active: ActiveRun, outcome: RunOutcome, startedAt: number): void {
    this.average += (Math.max(0.01, performance.now() - startedAt) - this.average) * AVERAGE_WEIGHT;
    active.finished = true;
    active.outcome = outcome;
    this.leases.delete(active);
    this.taken--;
    this.hooks.slotFreed();
    // Runs due now start first; their bookkeeping waits for the next turn of the event loop.
    this.ended.push(active);
    if (this.ended.length === 1) setImmediate(() => this.flush());
  }

  private flush(): void {
    const ended = this.ended;
    this.ended = [];
    for (const active of ended) this.hooks.ended(active);
  }
}

/** Waits for a give-back for 2 s at most (Redis may be down), and says so when it could not. */
export async function giveBackWithin(
  work: Promise<unknown>,
  count: number,
  logger: Logger,
): Promise<void> {
  if (count === 0) return;
  const result = await withTimeLimit(work, 2_000);
  if (result === 'done') return;
  const why = result === 'timeout' ? 'Redis did not answer' : result.message;
  logger.warn(`Could not give ${count} run(s) back (${why}); they expire after leaseMs`);
}
