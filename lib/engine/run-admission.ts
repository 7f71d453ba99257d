import { Logger } from '@nestjs/common';
import type { ResolvedSchedulerOptions } from '../interfaces/redis-scheduler-options.interface';
import type { RedisConnection } from '../redis/redis-client.provider';
import { runRecordMember } from '../redis/key-space';
import type { ClaimedRun, CompletionResult, ConfirmRefusal } from '../redis/protocol/run.types';
import { timerDelay } from '../time/timer-delay';
import type { RedisClock } from '../time/redis-clock';
import * as Runs from './claimed-run';
import type { Claimed, ClaimInfo, RunSource } from './claimed-run';
import type { Plan } from './fire-planner';
import { ReservationBook } from './reservation-book';
import { giveBackWithin } from './run-launcher';
import { LeaseKeeper, reservationLeaseMs } from './run-lease';
import { RunEffect, RunEvent, slotEvent } from './run-lifecycle';
import { RunMover } from './run-mover';
import * as Plans from './run-planning';
import type { RunRecorder } from './run-recorder';
import type { RunSlots } from './run-slots';

/** A run that waited this long for a slot goes through the misfire policy again before it starts. */
const QUEUED_LONG_MS = 50;
const ADMIT: Plans.Admission = Object.freeze({ event: 'admit' });
const NO_PLAN: Plan = Object.freeze({ fireMs: 0, dueMs: 0, skipped: 0 });

/** How RunAdmission starts runs (RunLauncher). */
export interface RunStarter {
  /** Slots taken (handlers running, runs being detached). */
  readonly running: number;
  take(): void;
  untake(): void;
  launch(c: Claimed, member: string, dueMs: number): void;
}

/**
 * Everything before a run starts (run-lifecycle.ts, phases claimed to detaching): holds
 * reservations until they are due and confirmed (ReservationBook), admits due runs (misfire
 * policy, attempts left), queues them for a free slot (RunSlots), confirms again one whose
 * confirmation went stale, moves runs in Redis (RunMover), and hands a run that may start to the
 * RunStarter. Each step asks the lifecycle for the transition and the planner (run-planning.ts)
 * for fire times, and carries out the effect; an error computing fire times parks the schedule.
 */
export class RunAdmission {
  private readonly logger = new Logger('RedisScheduler');
  private readonly reservations: ReservationBook<Claimed>;
  private readonly mover: RunMover;
  /** Shutdown began (read by RunCoordinator's chaining decision). */
  closing = false;

  constructor(
    private readonly options: ResolvedSchedulerOptions,
    connection: RedisConnection,
    private readonly clock: RedisClock,
    private readonly leases: LeaseKeeper,
    private readonly recorder: RunRecorder,
    private readonly starter: RunStarter,
    /** The runs waiting for a slot, shared with RunCoordinator (capacity, pushed changes). */
    private readonly slots: RunSlots<Claimed>,
    /** Called when a schedule is re-armed at `dueMs` (Redis time). */
    private readonly onRearm: (source: RunSource, dueMs: number) => void,
    /** Called when a run will not start here (a slot may be free for a claim). */
    private readonly onRunEnd: () => void,
  ) {
    const { scripts, keys } = connection;
    this.reservations = new ReservationBook<Claimed>(
      scripts,
      keys,
      clock,
      (items, nowMs, epoch) =>
        this.slots.confirmed(this.clock.now(), () => {
          for (const c of items) {
            this.slots.release(c);
            c.claimedMs = nowMs;
            c.epoch = epoch;
            this.guarded(c, this.admitNow);
          }
        }),
      (c, why) => this.dropped(c, why),
      (items) => this.handBack(items),
    );
    this.mover = new RunMover(connection, options.batchSize);
  }

  /** Reservations held, confirmations under way included. */
  get reserved(): number {
    return this.reservations.size;
  }

  /** Shutdown began: runs not started are handed back, and claims from now on too. */
  close(): void {
    this.closing = true;
    this.handBack([...this.reservations.drain().map((r) => r.item), ...this.slots.drain()]);
  }

  /** The runs of one claim reply: due ones start in this pass, without another confirmation. */
  dispatchAll(source: RunSource, runs: readonly ClaimedRun[], claim: ClaimInfo): void {
    this.slots.confirmed(this.clock.now(), () => {
      for (const run of runs) this.dispatch(source, run, claim);
    });
  }

  /** Starts what is ready, as far as slots allow. */
  pump(): void {
    let c: Claimed | undefined;
    while ((c = this.slots.next(this.starter.running))) this.guarded(c, this.slotFreeFor);
  }

  private dispatch(source: RunSource, run: ClaimedRun, claim: ClaimInfo): void {
    if (this.closing) return this.handBack([{ source, run }]);
    let c: Claimed;
    try {
      c = Runs.toClaimed(source, run, claim, this.options.defaultPolicy);
    } catch (error) {
      // Left to its lease: a pod of another version may be able to read it.
      const message = (error as Error).message;
      return this.logger.error(`Schedule "${run.member}" holds an unusable timing: ${message}`);
    }
    if (run.claim === 'run' && run.dueMs > claim.nowMs) this.apply(c, 'reserve', ADMIT);
    else this.guarded(c, this.admitNow);
  }

  /** Moves `c` on by `event` and carries out the effect; `a` carries the plan of an admission. */
  private apply(c: Claimed, event: RunEvent, a: Plans.Admission): void {
    const effect = this.move(c, event);
    switch (effect) {
      case 'hold':
        return this.reservations.add(Runs.reservationOf(c, c.run.dueMs));
      case 'queue':
      case 'queue-first':
        this.slots.enqueue(c, effect === 'queue-first');
        return this.pump();
      case 'write':
        if (a.event === 'give-up') {
          const fire = new Date(c.run.fireMs).toISOString();
          this.logger.error(`Run of "${c.info.id}" for ${fire} ${a.why}`);
          return this.recorder.write(c, 'failed', a.why, a.plan, undefined);
        }
        return this.recorder.write(c, 'skipped', '', 'plan' in a ? a.plan : NO_PLAN, undefined);
      case 'retarget':
        return void this.retarget(c, 'plan' in a ? a.plan : NO_PLAN);
      case 'hand-back':
        return this.handBack([c]);
      case 'report-lost':
        this.logger.warn(
          `Run of "${c.info.id}" lost its lease before it started; another pod will run it`,
        );
        return this.onRunEnd();
      case 'none':
        return;
      default:
        this.logger.error(`Run of "${c.info.id}": effect '${effect}' is not carried out here`);
    }
  }

  private move(c: Claimed, event: RunEvent): RunEffect {
    return Runs.moveRun(c, event, this.logger);
  }

  /**
   * Runs one step of a claimed run. An error computing its fire times (cron-parser gives up on
   * some expressions at some zones' DST changes) parks its schedule instead of escaping, so it
   * never stops the other runs of a batch or the pod.
   */
  private guarded(c: Claimed, step: (this: RunAdmission, c: Claimed) => void): void {
    try {
      step.call(this, c);
    } catch (error) {
      this.park(c, error);
    }
  }

  private park(c: Claimed, error: unknown): void {
    this.slots.release(c);
    if (this.move(c, 'unplannable') === 'park') this.recorder.park(c, error, undefined);
  }

  /** A due claim, or a confirmed reservation: admission (misfire policy), then a slot. */
  private admitNow(c: Claimed): void {
    const a = Plans.admit(Runs.planningFacts(c), this.clock.now(), this.options.maxAttempts);
    this.apply(c, a.event, a);
  }

  /** A slot is free for `c`, waiting in `ready`. */
  private slotFreeFor(c: Claimed): void {
    const { run } = c;
    const now = this.clock.now();
    const stale = run.claim === 'run' && this.slots.stale(c, now);
    // A run that waited for a slot may be late by now: the misfire policy again.
    const late =
      (!stale || this.closing) && now - c.claimedMs >= QUEUED_LONG_MS
        ? Plans.misfire(Runs.planningFacts(c), now)
        : ADMIT;
    // A one-off has no next fire time to re-arm at: its one run is never detached.
    const detach = c.policy.overlap === 'allow' && run.claim === 'run' && c.timing.series.repeats;
    const event = slotEvent({
      stale,
      admission: late.event === 'give-up' ? 'admit' : late.event,
      closing: this.closing,
      leaseLeft: now < run.leaseUntilMs - this.leases.abortMarginMs,
      detach,
    });
    if (event === 'recheck') {
      this.move(c, event);
      this.slots.hold(c);
      return this.reservations.add(Runs.reservationOf(c, Math.min(run.dueMs, now)));
    }
    if (event === 'expired') {
      this.move(c, event);
      this.logger.warn(
        `Run of "${c.info.id}" was claimed but its lease ran out before it could start`,
      );
      return this.onRunEnd();
    }
    if (event !== 'detach' && event !== 'launch') return this.apply(c, event, late);
    // Computed before the run takes a slot (an error parks it); a trigger is due at its fire time.
    const dueMs =
      run.dueMs >= 0 ? run.dueMs : c.info.trigger ? run.fireMs : Plans.dueOf(Runs.planningFacts(c));
    const next = detach ? Plans.planDetached(Runs.planningFacts(c)) : NO_PLAN;
    this.move(c, event);
    this.starter.take();
    if (detach) void this.detach(c, next, dueMs);
    else this.starter.launch(c, run.member, dueMs);
  }

  /** confirmRuns refused a reservation (or a run confirmed again). */
  private dropped(c: Claimed, why: ConfirmRefusal): void {
    this.slots.release(c);
    if (this.move(c, why === 'changed' ? 'changed' : 'lost') === 'rearm') {
      // Handed back and armed again as the change left it: look at once, it may be due now.
      this.onRearm(c.source, this.clock.now());
    } else {
      const detail =
        why === 'lease-expired'
          ? 'its reservation expired before it was confirmed; another pod will run it'
          : 'its schedule was removed, changed or taken over by another pod; nothing to do here';
      this.logger.warn(`Reserved run of "${c.info.id}" will not start here: ${detail}`);
    }
    this.onRunEnd();
  }

  private async retarget(c: Claimed, plan: Plan): Promise<void> {
    const result = await this.mover.retarget(c, plan);
    if (result === 'too-early') {
      // This pod's clock estimate ran ahead of Redis: that fire time is due in a moment.
      this.move(c, result);
      setTimeout(() => void this.retarget(c, plan), timerDelay(plan.dueMs - this.clock.now() + 1));
      return;
    }
    if (result === 'moved') {
      c.run.fireMs = plan.fireMs;
      c.run.dueMs = plan.dueMs;
      c.skippedBefore += plan.skipped;
    }
    // retargetRuns checks the lease only: a moved run is confirmed again before it starts.
    this.apply(c, result, ADMIT);
  }

  /** overlap 'allow': the run goes on under its own record, the schedule is re-armed at once. */
  private async detach(c: Claimed, next: Plan, dueMs: number): Promise<void> {
    const result = await this.mover.detach(c, next);
    if (result !== 'moved') {
      this.starter.untake();
      this.apply(c, 'lost', ADMIT);
      return this.pump();
    }
    this.move(c, result);
    this.onRearm(c.source, next.dueMs);
    this.starter.launch(c, runRecordMember(c.run.member, c.run.fireMs), dueMs);
  }

  /**
   * The next fire time completeRuns reserved for this pod, held like any reservation (or admitted
   * at once if due already). It reuses `c`: at thousands of runs a second, objects that live for
   * the look-ahead are what the garbage collector pays for, so these stay put.
   */
  chained(c: Claimed, fireMs: number, dueMs: number, result: CompletionResult): void {
    Runs.rechain(c, fireMs, dueMs, result, reservationLeaseMs(this.options.leaseMs));
    this.move(c, 'chain');
    if (this.closing) return this.apply(c, 'close', ADMIT);
    if (dueMs > result.nowMs) return this.apply(c, 'reserve', ADMIT);
    // On the next turn, with the other runs just recorded (confirmed again before it starts).
    setImmediate(() => this.guarded(c, this.admitNow));
  }

  /**
   * Hands back claimed runs that will not start: first attempts as if never claimed (another pod
   * claims them at once with attempt 1), re-runs by ending their lease (attempt + 1).
   */
  private handBack(claims: readonly (Claimed | Pick<Claimed, 'source' | 'run'>)[]): void {
    for (const c of claims) if ('phase' in c && c.phase !== 'ended') this.move(c, 'close');
    const work = this.leases.handBack(
      claims.map((c) => ({
        partition: c.source.partition,
        member: c.run.member,
        fencingToken: c.run.fencingToken,
        firstAttempt: c.run.claim === 'run',
      })),
    );
    void giveBackWithin(work, claims.length, this.logger);
  }
}
