import { Logger } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { LATE_COMPLETION_REJECTED } from '../redis-scheduler.messages';
import type { ResolvedSchedulerOptions } from '../interfaces/redis-scheduler-options.interface';
import type { ResolvedPolicy } from '../interfaces/schedule-policy.interface';
import type { RegisteredHandler } from '../discovery/handler.registry';
import type { SchedulerEvents } from '../events/scheduler-events';
import type { RedisConnection } from '../redis/redis-client.provider';
import { MemberInfo, parseMember, runRecordMember } from '../redis/key-space';
import type {
  ClaimedRun,
  Completion,
  CompletionResult,
  ConfirmRefusal,
  Detachment,
  DetachVerdict,
  Retarget,
  RetargetVerdict,
} from '../redis/protocol/run.types';
import { ScheduleTiming } from '../time/schedule-timing';
import { timerDelay } from '../time/timer-delay';
import type { RedisClock } from '../time/redis-clock';
import { Plan, planAfterRun, planMisfire, withJitter } from './fire-planner';
import { PartitionBatcher, PartitionQueue } from './partition-batcher';
import { RunAbort } from './run-abort';
import { RunExecutor, RunOutcome } from './run-executor';
import { LeasedRun, LeaseKeeper } from './run-lease';
import type { PodRegistry } from './pod-registry';
import { Reservation, ReservationBook } from './reservation-book';
import { decodePolicy, resolvePolicy, retryDelayMs } from './schedule-policy';

/** Where a claimed run came from. */
export interface RunSource {
  partition: number;
  handler: RegisteredHandler;
}

/** What the claim said besides the runs. */
export interface ClaimInfo {
  nowMs: number;
  epoch: number;
}

interface ActiveRun extends LeasedRun {
  claimed: Claimed;
  /** Shutdown handed the lease back: the run's end must not be recorded. */
  givenBack: boolean;
  /** The handler is done and its outcome is being recorded: shutdown lets that finish. */
  finished: boolean;
  /** The handler's outcome, once it is done. */
  outcome: RunOutcome | undefined;
}

/** A completeRuns write on its way, and what to do with its result. */
interface Recording {
  c: Claimed;
  completion: Completion;
  /**
   * Set when a handler ran: the run stays in `active` until this write is done, and the write is
   * announced as the run's end or its retry.
   */
  active: ActiveRun | undefined;
  /** Writes tried so far (Redis unreachable: backoff, while the lease lasts). */
  tries: number;
}

/** A claimed run with what every step needs about it. */
interface Claimed {
  source: RunSource;
  run: ClaimedRun;
  info: MemberInfo;
  timing: ScheduleTiming;
  policy: ResolvedPolicy;
  /** Redis time of the claim, or of the confirmation of a reservation. */
  claimedMs: number;
  /** The partition's change epoch at that claim or confirmation. */
  epoch: number;
  /**
   * The confirmation pass it was claimed or confirmed in (see `confirmed`); -1 when that was in an
   * earlier turn. A first attempt starts without another confirmation only within that pass.
   */
  pass: number;
  /** Sent to be confirmed again, holding a slot to start in as soon as that is done. */
  holdsSlot: boolean;
  /** Missed fire times passed over when the claim was retargeted to the latest one. */
  skippedBefore: number;
  /** Its entry in the ReservationBook, kept for the next reservation of the same schedule. */
  reservation?: Reservation<Claimed>;
}

/** Weight of the newest handler duration in the running average. */
const AVERAGE_WEIGHT = 0.05;
/** A run that waited this long for a slot goes through the misfire policy again before it starts. */
const QUEUED_LONG_MS = 50;

/**
 * Takes claimed runs to their end: keeps reservations until they are due and confirmed, queues
 * due runs for a free slot (at most `concurrency` handlers at once), applies the misfire policy,
 * detaches 'allow' runs, runs the handler with its lease, timeout and signal, and records the
 * outcome (success, retry, final failure with a dead letter, or skipped fire times), re-arming
 * the schedule.
 */
export class RunCoordinator {
  private readonly logger = new Logger('RedisScheduler');
  private readonly executor = new RunExecutor();
  private readonly leases: LeaseKeeper;
  private readonly reservations: ReservationBook<Claimed>;
  private readonly completions: PartitionQueue<Recording, CompletionResult>;
  private readonly detachments: PartitionBatcher<Detachment, DetachVerdict>;
  private readonly retargets: PartitionBatcher<Retarget, RetargetVerdict>;
  /** Due runs waiting for a free slot, oldest first (`readyHead` is the first not yet taken). */
  private ready: Claimed[] = [];
  private readyHead = 0;
  private running = 0;
  /** Slots held by first attempts being confirmed again before they start. */
  private rechecking = 0;
  /** The current confirmation pass (see `confirmed`), and whether one is under way. */
  private pass = 0;
  private inPass = false;
  /** Started and not yet recorded. */
  private readonly active = new Set<ActiveRun>();
  /** Runs whose handler is done, to record on the next turn of the event loop. */
  private ended: ActiveRun[] = [];
  private averageRunMs: number;
  private drained: (() => void) | undefined;
  private closing = false;
  /** Shut down: writes that failed are not tried again (their leases run out). */
  private stopped = false;

  constructor(
    private readonly options: ResolvedSchedulerOptions,
    private readonly connection: RedisConnection,
    private readonly clock: RedisClock,
    private readonly events: SchedulerEvents,
    private readonly registry: PodRegistry,
    /** Called when a schedule is re-armed at `dueMs` (Redis time). */
    private readonly onRearm: (source: RunSource, dueMs: number) => void,
    /** Called when a slot frees up. */
    private readonly onRunEnd: () => void,
  ) {
    const { scripts, keys } = connection;
    this.averageRunMs = Math.max(1, options.lookAheadMs);
    this.leases = new LeaseKeeper(options.leaseMs, clock, scripts, keys);
    this.reservations = new ReservationBook<Claimed>(
      scripts,
      keys,
      clock,
      (items, nowMs, epoch) =>
        this.confirmed(() => {
          for (const c of items) {
            c.claimedMs = nowMs;
            c.epoch = epoch;
            this.guarded(c, this.process);
          }
        }),
      (c, why) => this.dropped(c, why),
      (items) => void this.handBack(items),
    );
    const base = (p: number) => keys.partitionBases[p];
    const limits = {
      deadLetters: options.deadLetterLimit,
      history: options.runHistory,
      leaseMs: options.leaseMs,
      lookAheadMs: options.lookAheadMs,
      wakeChannel: keys.wakeChannel,
    };
    this.completions = new PartitionQueue<Recording, CompletionResult>(
      (p, items) =>
        scripts.completeRuns(
          base(p),
          limits,
          items.map((r) => r.completion),
        ),
      options.batchSize,
      (r, result) => this.completed(r, result),
      (items, error) => this.notCompleted(items, error as Error),
    );
    this.retargets = new PartitionBatcher(
      (p, items) => scripts.retargetRuns(base(p), items),
      options.batchSize,
    );
    this.detachments = new PartitionBatcher(
      (p, items) => scripts.detachRuns(base(p), items),
      options.batchSize,
    );
  }

  /**
   * How many more runs to claim: enough for the free slots (what is due now comes first in a
   * claim), or more while the look-ahead has room (see lookAheadRoom).
   */
  get claimBudget(): number {
    const freeSlots =
      this.options.concurrency -
      this.running -
      this.rechecking -
      (this.ready.length - this.readyHead);
    return Math.max(freeSlots, this.lookAheadRoom);
  }

  /**
   * Room for runs claimed ahead: claimed runs not yet started are capped by what `concurrency`
   * slots can start within the look-ahead at the handlers' average duration (so slow handlers
   * never hoard runs another pod could start on time), and by `maxPendingRuns`.
   */
  get lookAheadRoom(): number {
    const { concurrency, lookAheadMs, maxPendingRuns } = this.options;
    const cap = Math.min(
      Math.max(maxPendingRuns, concurrency),
      Math.floor(concurrency * (1 + lookAheadMs / this.averageRunMs)),
    );
    return cap - this.running - this.waiting;
  }

  private get waiting(): number {
    return this.reservations.size + this.ready.length - this.readyHead;
  }

  /** Shutdown began: runs not started are handed back, and claims from now on too. */
  close(): void {
    this.closing = true;
    const unstarted = [
      ...this.reservations.drain().map((r) => r.item),
      ...this.ready.slice(this.readyHead),
    ];
    this.ready = [];
    this.readyHead = 0;
    this.rechecking = 0;
    void this.handBack(unstarted);
  }

  /** The runs of one claim reply: due ones start in this pass, without another confirmation. */
  dispatchAll(source: RunSource, runs: readonly ClaimedRun[], claim: ClaimInfo): void {
    this.confirmed(() => {
      for (const run of runs) this.dispatch(source, run, claim);
    });
  }

  /**
   * Runs `work`, which handles runs Redis just claimed or confirmed, as one pass: a first attempt
   * handled in it may start at once; one that waits for a slot past it is confirmed again before
   * it starts, so that no run starts after a remove, pause or change has been made (once
   * `remove()` resolves, its schedule never starts again).
   */
  private confirmed(work: () => void): void {
    this.pass++;
    this.inPass = true;
    try {
      work();
    } finally {
      this.inPass = false;
    }
  }

  private freeHeldSlot(c: Claimed): void {
    if (!c.holdsSlot) return;
    c.holdsSlot = false;
    this.rechecking--;
  }

  private dispatch(source: RunSource, run: ClaimedRun, claim: ClaimInfo): void {
    if (this.closing) {
      void this.handBack([{ source, run }]);
      return;
    }
    let timing: ScheduleTiming;
    try {
      timing = ScheduleTiming.decode(run.timing);
    } catch (error) {
      this.logger.error(
        `Schedule "${run.member}" holds an unusable timing: ${(error as Error).message}`,
      );
      return;
    }
    const c: Claimed = {
      source,
      run,
      info: parseMember(run.member),
      timing,
      policy: resolvePolicy(decodePolicy(run.policy), this.options.defaultPolicy),
      claimedMs: claim.nowMs,
      epoch: claim.epoch,
      pass: -1,
      holdsSlot: false,
      skippedBefore: 0,
    };
    if (run.claim === 'run' && run.dueMs > claim.nowMs) {
      this.reserve(c, run.dueMs);
      return;
    }
    this.guarded(c, this.process);
  }

  /** Starts what the claims of one round made ready. */
  pump(): void {
    while (
      this.running + this.rechecking < this.options.concurrency &&
      this.readyHead < this.ready.length
    ) {
      const c = this.ready[this.readyHead++];
      const now = this.clock.now();
      const waited = now - c.claimedMs;
      if (c.run.claim === 'run' && !(this.inPass && c.pass === this.pass) && !this.closing) {
        // Claimed or confirmed in an earlier pass: a remove, pause or change may have been made
        // since. Confirmed again (one cheap epoch check for all that ask at once), it starts in
        // the slot it holds meanwhile.
        c.holdsSlot = true;
        this.rechecking++;
        this.reserve(c, Math.min(c.run.dueMs, now));
        continue;
      }
      this.guarded(c, waited >= QUEUED_LONG_MS ? this.startUnlessMisfired : this.start);
    }
    if (this.readyHead === this.ready.length) {
      this.ready = [];
      this.readyHead = 0;
    }
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
      await this.bounded(this.leases.giveBack(remaining), remaining.length);
    }
    this.leases.stop();
    this.stopped = true;
  }

  /**
   * Runs one step of a claimed run. An error computing its fire times (cron-parser gives up on some
   * expressions at some zones' DST changes) parks its schedule instead of escaping, so it never
   * stops the other runs of a batch or the pod.
   */
  private guarded(c: Claimed, step: (this: RunCoordinator, c: Claimed) => void): void {
    try {
      step.call(this, c);
    } catch (error) {
      this.park(c, error, undefined);
    }
  }

  /** A run that waited for a slot may be late by now: the misfire policy again. */
  private startUnlessMisfired(c: Claimed): void {
    if (!this.misfired(c, this.clock.now())) this.start(c);
  }

  /**
   * Parks the schedule of `c`: its run (or, with `active`, its handler's outcome) is recorded,
   * with a dead letter saying why, and the schedule is paused instead of re-armed, visible as
   * `state: 'parked'` until it is resumed or upserted again.
   */
  private park(c: Claimed, error: unknown, active: ActiveRun | undefined): void {
    const reason = `cannot compute its fire times: ${(error as Error)?.message ?? String(error)}`;
    this.logger.error(
      `Schedule "${c.info.id}" is parked: it ${reason}. Resume or upsert it to try again.`,
    );
    if (this.events.wants('schedule.parked')) {
      this.events.emit('schedule.parked', { ...this.describe(c), error: reason });
    }
    const outcome = active?.outcome?.status ?? 'failed';
    const completion: Completion = {
      member: c.run.member,
      fencingToken: c.run.fencingToken,
      outcome,
      revision: c.run.revision,
      nextFireMs: 0,
      nextDueMs: 0,
      error: reason,
      skipped: c.skippedBefore,
      deadLetter: this.deadLetter(c, reason),
      chain: 'park',
    };
    this.completions.add(c.source.partition, { c, completion, active, tries: 0 });
  }

  /** A due claim: misfire policy first, then a slot. */
  private process(c: Claimed): void {
    const { run } = c;
    if (run.claim === 'stale') {
      this.complete(c, 'skipped', '', this.planAfter(c), undefined);
      return;
    }
    const maxAttempts = Math.max(c.policy.retry.attempts, this.options.maxAttempts);
    if (run.attempt > maxAttempts) {
      const why = `gave up after ${maxAttempts} attempts that each lost their lease or failed`;
      this.logger.error(`Run of "${c.info.id}" for ${new Date(run.fireMs).toISOString()} ${why}`);
      this.complete(c, 'failed', why, this.planAfter(c), undefined);
      return;
    }
    if (this.misfired(c, c.claimedMs)) return;
    c.pass = this.inPass ? this.pass : -1;
    if (c.holdsSlot) {
      // Confirmed again: it goes first, into the slot it held.
      this.freeHeldSlot(c);
      if (this.readyHead > 0) this.ready[--this.readyHead] = c;
      else this.ready.unshift(c);
    } else {
      this.ready.push(c);
    }
    this.pump();
  }

  /**
   * The misfire policy for a first attempt that is late at `nowMs` (Redis time): retargets it to
   * the latest missed fire time, or skips it. True when it took the run over.
   */
  private misfired(c: Claimed, nowMs: number): boolean {
    if (c.run.claim !== 'run') return false;
    const { cron, jitterMs } = c.timing;
    const plan = planMisfire(cron, c.info.schedule, jitterMs, c.run.fireMs, nowMs, c.policy);
    if (!plan) return false;
    if (plan.dueMs <= nowMs && c.policy.misfire !== 'skip') {
      // The fire time to run instead is due already: run it now under this claim.
      void this.retarget(c, plan);
    } else {
      this.complete(c, 'skipped', '', plan, undefined);
    }
    return true;
  }

  private dropped(c: Claimed, why: ConfirmRefusal): void {
    this.freeHeldSlot(c);
    if (why === 'changed') {
      // Handed back and armed again as the change left it: look at once, it may be due now.
      this.onRearm(c.source, this.clock.now());
    } else {
      this.logger.warn(
        `Reserved run of "${c.info.id}" lost its lease before it was due; another pod will run it`,
      );
    }
    this.onRunEnd();
  }

  private async retarget(c: Claimed, plan: Plan): Promise<void> {
    const { run } = c;
    let verdict: RetargetVerdict;
    try {
      verdict = await this.retargets.submit(c.source.partition, {
        member: run.member,
        fencingToken: run.fencingToken,
        fireMs: plan.fireMs,
        dueMs: plan.dueMs,
      });
    } catch (error) {
      // Redis unreachable: the claim's lease runs out, then any pod re-claims the fire time.
      this.logger.warn(
        `Could not retarget the run of "${c.info.id}" (${(error as Error).message}); another pod will run it`,
      );
      return;
    }
    if (verdict === 'too-early') {
      // This pod's clock estimate ran ahead of Redis: that fire time is due in a moment.
      const delay = timerDelay(plan.dueMs - this.clock.now() + 1);
      setTimeout(() => void this.retarget(c, plan), delay);
      return;
    }
    if (verdict !== 'ok') {
      this.logger.warn(
        `Run of "${c.info.id}" lost its lease before it started; another pod will run it`,
      );
      return;
    }
    run.fireMs = plan.fireMs;
    run.dueMs = plan.dueMs;
    c.skippedBefore += plan.skipped;
    // retargetRuns checks the lease only: confirmed again (pause, change) before it starts.
    c.pass = -1;
    this.ready.push(c);
    this.pump();
  }

  /**
   * Hands back claimed runs that will not start: first attempts as if never claimed (another pod
   * claims them at once with attempt 1), re-runs by ending their lease (attempt + 1).
   */
  private async handBack(claims: readonly Pick<Claimed, 'source' | 'run'>[]): Promise<void> {
    const ref = (c: Pick<Claimed, 'source' | 'run'>) => ({
      partition: c.source.partition,
      member: c.run.member,
      fencingToken: c.run.fencingToken,
    });
    const first = claims.filter((c) => c.run.claim === 'run').map(ref);
    const others = claims.filter((c) => c.run.claim !== 'run').map(ref);
    await this.bounded(
      Promise.all([this.leases.release(first), this.leases.giveBack(others)]),
      claims.length,
    );
  }

  /** Waits for a give-back for 2 s at most: Redis may be down. */
  private async bounded(work: Promise<unknown>, count: number): Promise<void> {
    if (count === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timerDelay(2_000));
      timer.unref();
    });
    const result = await Promise.race([
      work.then(
        () => undefined,
        (e: Error) => e,
      ),
      timeout,
    ]);
    clearTimeout(timer);
    if (result !== undefined) {
      const why = result === 'timeout' ? 'Redis did not answer' : result.message;
      this.logger.warn(`Could not give ${count} run(s) back (${why}); they expire after leaseMs`);
    }
  }

  private start(c: Claimed): void {
    const { run } = c;
    if (this.closing) {
      void this.handBack([c]);
      return;
    }
    if (this.clock.now() >= run.leaseUntilMs - this.leases.abortMarginMs) {
      // Claimed, then this process stalled (GC pause, SIGSTOP) past the lease: another pod re-runs it.
      this.logger.warn(
        `Run of "${c.info.id}" was claimed but its lease ran out before it could start`,
      );
      this.onRunEnd();
      return;
    }
    // Fire times are computed before the run takes a slot: an error here parks the schedule.
    const dueMs = run.dueMs >= 0 ? run.dueMs : this.dueOf(c);
    if (c.policy.overlap === 'allow' && run.claim === 'run') {
      const { cron, jitterMs } = c.timing;
      const next = planAfterRun(
        cron,
        c.info.schedule,
        jitterMs,
        run.fireMs,
        c.claimedMs,
        c.claimedMs,
        c.policy,
      );
      this.running++;
      void this.startDetached(c, next, dueMs);
      return;
    }
    this.running++;
    this.launch(c, run.member, dueMs);
  }

  /** overlap 'allow': the run goes on under its own member, the schedule is re-armed at once. */
  private async startDetached(c: Claimed, next: Plan, dueMs: number): Promise<void> {
    const { run } = c;
    let verdict: DetachVerdict;
    try {
      verdict = await this.detachments.submit(c.source.partition, {
        member: run.member,
        fencingToken: run.fencingToken,
        revision: run.revision,
        nextFireMs: next.fireMs,
        nextDueMs: next.dueMs,
      });
    } catch (error) {
      // Redis unreachable: the claim's lease runs out, then any pod re-claims the fire time.
      this.logger.warn(
        `Could not start the run of "${c.info.id}" (${(error as Error).message}); another pod will run it`,
      );
      this.slotFreed();
      return;
    }
    if (verdict !== 'ok') {
      this.logger.warn(
        `Run of "${c.info.id}" lost its lease before it started; another pod will run it`,
      );
      this.slotFreed();
      return;
    }
    this.onRearm(c.source, next.dueMs);
    this.launch(c, runRecordMember(run.member, run.fireMs), dueMs);
  }

  /**
   * Runs the handler. No async frame per run: at thousands of runs a second, what each run holds
   * until its completion is written is what the garbage collector copies, so a run holds its
   * ActiveRun and, later, its Recording, and nothing else.
   */
  private launch(c: Claimed, member: string, dueMs: number): void {
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
    };
    this.active.add(active);
    this.leases.add(active);
    if (this.events.wants('run.started')) this.events.emit('run.started', this.describe(c));
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
        timeoutMs: c.policy.timeoutMs,
        abort: active.abort,
      })
      .then((outcome) => this.handlerDone(active, outcome, startedAt));
  }

  private handlerDone(active: ActiveRun, outcome: RunOutcome, startedAt: number): void {
    this.averageRunMs +=
      (Math.max(0.01, performance.now() - startedAt) - this.averageRunMs) * AVERAGE_WEIGHT;
    active.finished = true;
    active.outcome = outcome;
    this.leases.delete(active);
    this.slotFreed();
    // Runs due now start first; their bookkeeping waits for the next turn of the event loop.
    this.ended.push(active);
    if (this.ended.length === 1) setImmediate(() => this.recordEnded());
  }

  private recordEnded(): void {
    const ended = this.ended;
    this.ended = [];
    for (const active of ended) {
      if (active.givenBack) this.forget(active);
      else this.recordOrPark(active);
    }
  }

  /** The run's end is written (or given up): shutdown no longer waits for it. */
  private forget(active: ActiveRun): void {
    this.active.delete(active);
    if (this.active.size === 0) this.drained?.();
  }

  private slotFreed(): void {
    this.running--;
    this.pump();
    this.onRunEnd();
  }

  private dueOf(c: Claimed): number {
    const { cron, jitterMs } = c.timing;
    return withJitter(cron, c.info.schedule, jitterMs, c.run.fireMs).dueMs;
  }

  private recordOrPark(active: ActiveRun): void {
    try {
      this.record(active);
    } catch (error) {
      this.park(active.claimed, error, active);
    }
  }

  private record(active: ActiveRun): void {
    const c = active.claimed;
    const outcome = active.outcome as RunOutcome;
    const { run, policy } = c;
    if (outcome.status === 'failed' && run.attempt < policy.retry.attempts) {
      const retryAt = Math.ceil(this.clock.now() + retryDelayMs(policy.retry, run.attempt));
      const plan = { fireMs: run.fireMs, dueMs: retryAt, skipped: 0 };
      this.complete(c, 'retry', outcome.error, plan, active);
      return;
    }
    const detached = active.member !== run.member;
    const plan: Plan = detached ? { fireMs: 0, dueMs: 0, skipped: 0 } : this.nextPlan(c);
    this.complete(c, outcome.status, outcome.error, plan, active, !detached);
  }

  /**
   * Where the schedule goes after this run. A next fire time due already (a backlog: the pod is
   * behind) goes through the misfire policy here, as its claim would, so that it can be kept by
   * this pod at once instead of waiting for a claim and a retarget.
   */
  private nextPlan(c: Claimed): Plan {
    const plan = this.planAfter(c);
    const now = this.clock.now();
    if (plan.dueMs > now) return plan;
    const { cron, jitterMs } = c.timing;
    const misfire = planMisfire(cron, c.info.schedule, jitterMs, plan.fireMs, now, c.policy);
    return misfire ? { ...misfire, skipped: plan.skipped + misfire.skipped } : plan;
  }

  private planAfter(c: Claimed): Plan {
    const { cron, jitterMs } = c.timing;
    return planAfterRun(
      cron,
      c.info.schedule,
      jitterMs,
      c.run.fireMs,
      c.claimedMs,
      this.clock.now(),
      c.policy,
    );
  }

  /**
   * Records a run's end (or a retry, or skipped fire times) and re-arms its schedule; the write
   * is retried while the lease is still ours (see notCompleted).
   */
  private complete(
    c: Claimed,
    outcome: Completion['outcome'],
    error: string,
    plan: Plan,
    active: ActiveRun | undefined,
    mayChain = false,
  ): void {
    const { run } = c;
    const completion: Completion = {
      member: active?.member ?? run.member,
      fencingToken: run.fencingToken,
      outcome,
      revision: run.revision,
      nextFireMs: plan.fireMs,
      nextDueMs: plan.dueMs,
      error,
      skipped: plan.skipped + c.skippedBefore,
      deadLetter: outcome === 'failed' ? this.deadLetter(c, error) : '',
      chain: mayChain ? this.chainFor(c, plan) : 'none',
    };
    this.completions.add(c.source.partition, { c, completion, active, tries: 0 });
  }

  /** completeRuns answered for one run. */
  private completed(r: Recording, result: CompletionResult): void {
    const { c, completion, active } = r;
    if (result.verdict !== 'ok') {
      const reason = active?.abort.aborted ? 'lease lost during the run' : result.verdict;
      this.logger.warn(LATE_COMPLETION_REJECTED(c.info.id, new Date(c.run.fireMs), reason));
      if (this.events.wants('run.rejected')) {
        this.events.emit('run.rejected', { ...this.describe(c), reason });
      }
    } else {
      this.announce(r);
      // Last: a chained next run reuses `c`.
      if (result.chainedFence > 0) {
        this.reserveChained(c, completion.nextFireMs, completion.nextDueMs, result);
      } else if (completion.nextDueMs > 0) {
        this.onRearm(c.source, completion.nextDueMs);
      }
    }
    if (active) this.forget(active);
  }

  /** The events of a written completion: skipped fire times, then a run's end or its retry. */
  private announce(r: Recording): void {
    const { c, completion, active } = r;
    if (completion.skipped > 0 && this.events.wants('fires.skipped')) {
      this.events.emit('fires.skipped', {
        scheduleId: c.info.id,
        tenantId: c.info.tenantId,
        count: completion.skipped,
        resumeAt: new Date(completion.nextFireMs),
      });
    }
    if (!active) return;
    if (completion.outcome === 'retry') {
      if (this.events.wants('run.retrying')) {
        this.events.emit('run.retrying', {
          ...this.describe(c),
          error: completion.error,
          retryAt: new Date(completion.nextDueMs),
        });
      }
    } else if (completion.outcome === 'succeeded') {
      if (this.events.wants('run.succeeded')) this.events.emit('run.succeeded', this.describe(c));
    } else if (this.events.wants('run.failed')) {
      this.events.emit('run.failed', { ...this.describe(c), error: completion.error });
    }
  }

  /** completeRuns failed (Redis unreachable): tried again with backoff while the lease lasts. */
  private notCompleted(items: Recording[], error: Error): void {
    const now = this.clock.now();
    for (const r of items) {
      const { c, active } = r;
      const leaseUntil = active?.leaseUntilMs ?? c.run.leaseUntilMs;
      if (now >= leaseUntil || this.stopped) {
        const then = this.stopped
          ? 'the application has shut down, so it will be re-run once its lease runs out'
          : 'its lease has expired, so it will be re-run';
        this.logger.warn(
          `Could not record the run of "${c.info.id}" for ${new Date(c.run.fireMs).toISOString()} ` +
            `(${error.message}); ${then}`,
        );
        if (active) this.forget(active);
        continue;
      }
      const delay = timerDelay(100 * 2 ** r.tries++, 2_000);
      setTimeout(() => this.completions.add(c.source.partition, r), delay).unref();
    }
  }

  /**
   * Whether to reserve the next fire time of a schedule this pod just ran in the same call that
   * records the run: only when it is due within the look-ahead (or due already), the schedule is
   * assigned to this pod (PodRegistry) and this pod has room for it. One assigned to another pod
   * is handed to it with a wake-up, so that pod reserves it in time.
   */
  private chainFor(c: Claimed, plan: Plan): Completion['chain'] {
    if (this.closing || this.options.lookAheadMs === 0) return 'none';
    const ahead = plan.dueMs - this.clock.now();
    if (plan.dueMs <= 0 || ahead > this.options.lookAheadMs) return 'none';
    // Due already (this pod is behind): keep it whoever it is assigned to; a hand-over would only
    // add a claim. Ahead: its assigned pod reserves it.
    if (ahead > 0 && !this.registry.owns(c.source.handler.key, c.run.incarnation)) return 'wake';
    return this.lookAheadRoom > 0 ? 'chain' : 'none';
  }

  /**
   * The next fire time completeRuns reserved for this pod: held until due and confirmed, like any
   * reservation, or started at once if it is due already (claimed by that call, as a claim would).
   * The run just recorded is done with, so its objects are reused for the next one: at thousands
   * of runs a second, objects that live for the look-ahead (about a second) are what the garbage
   * collector pays for, and these stay put instead of being copied and promoted every time.
   */
  private reserveChained(
    c: Claimed,
    fireMs: number,
    dueMs: number,
    result: CompletionResult,
  ): void {
    const { run } = c;
    run.fireMs = fireMs;
    run.dueMs = dueMs;
    run.attempt = 1;
    run.fencingToken = result.chainedFence;
    run.leaseUntilMs = Math.max(dueMs, result.nowMs) + this.options.leaseMs;
    run.claim = 'run';
    c.claimedMs = result.nowMs;
    c.epoch = result.epoch;
    c.pass = -1;
    c.skippedBefore = 0;
    if (this.closing) {
      void this.handBack([c]);
      return;
    }
    if (dueMs <= result.nowMs) {
      // On the next turn, with the other runs just recorded.
      setImmediate(() => this.guarded(c, this.process));
      return;
    }
    this.reserve(c, dueMs);
  }

  /** Holds a first attempt in the ReservationBook until `dueMs`, then confirms it. */
  private reserve(c: Claimed, dueMs: number): void {
    const { run } = c;
    let r = c.reservation;
    if (r) {
      r.fencingToken = run.fencingToken;
      r.revision = run.revision;
      r.dueMs = dueMs;
      r.epoch = c.epoch;
      r.leaseUntilMs = run.leaseUntilMs;
    } else {
      r = {
        partition: c.source.partition,
        member: run.member,
        fencingToken: run.fencingToken,
        revision: run.revision,
        dueMs,
        epoch: c.epoch,
        leaseUntilMs: run.leaseUntilMs,
        item: c,
      };
      c.reservation = r;
    }
    this.reservations.add(r);
  }

  private deadLetter(c: Claimed, error: string): string {
    const { run } = c;
    return JSON.stringify({
      tenantId: c.info.tenantId,
      scheduleId: c.info.id,
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
      scheduleId: c.info.id,
      tenantId: c.info.tenantId,
      fireTime: new Date(run.fireMs),
      attempt: run.attempt,
      fencingToken: run.fencingToken,
    };
  }
}
