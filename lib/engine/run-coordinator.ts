import type { ResolvedSchedulerOptions } from '../interfaces/redis-scheduler-options.interface';
import type { SchedulerEvents } from '../events/scheduler-events';
import type { RunInstrumentation } from '../events/run-instrumentation';
import type { RedisConnection } from '../redis/redis-client.provider';
import type { ClaimedRun } from '../redis/protocol/run.types';
import type { RedisClock } from '../time/redis-clock';
import type { Claimed, ClaimInfo, RunSource } from './claimed-run';
import { moveRun } from './claimed-run';
import type { PodRegistry } from './pod-registry';
import { RunAdmission } from './run-admission';
import * as Capacity from './run-capacity';
import { RunLauncher } from './run-launcher';
import { LeaseKeeper } from './run-lease';
import * as Plans from './run-planning';
import { RunRecorder } from './run-recorder';
import { RunSlots } from './run-slots';
import { Logger } from '@nestjs/common';

export type { ClaimInfo, RunSource } from './claimed-run';

/**
 * Takes claimed runs through their lifecycle (run-lifecycle.ts), by wiring its parts: RunAdmission
 * (everything before a run starts: reservations, admission, slots, moves in Redis), RunLauncher
 * (handlers under their leases, kept by the LeaseKeeper) and RunRecorder (their ends, chaining the
 * next fire time back to RunAdmission). It holds no state of its own but shutdown.
 */
export class RunCoordinator {
  private readonly logger = new Logger('RedisScheduler');
  private readonly leases: LeaseKeeper;
  private readonly recorder: RunRecorder;
  private readonly launcher: RunLauncher;
  private readonly admission: RunAdmission;
  private readonly slots: RunSlots<Claimed>;
  private readonly cap: Capacity.Capacity;
  private readonly chainFacts: Plans.ChainFacts;

  constructor(
    private readonly options: ResolvedSchedulerOptions,
    connection: RedisConnection,
    clock: RedisClock,
    events: SchedulerEvents,
    registry: PodRegistry,
    /** Called when a schedule is re-armed at `dueMs` (Redis time). */
    onRearm: (source: RunSource, dueMs: number) => void,
    /** Called when a slot frees up. */
    onRunEnd: () => void,
    /** Hooks around each handler invocation (tracing, metrics). */
    instrumentation?: Pick<RunInstrumentation, 'wrap' | 'observers'>,
  ) {
    const { scripts, keys } = connection;
    const { concurrency, lookAheadMs, maxPendingRuns } = options;
    this.cap = {
      concurrency,
      lookAheadMs,
      maxPendingRuns,
      averageRunMs: 1,
      running: 0,
      reserved: 0,
      waiting: 0,
      holding: 0,
    };
    this.chainFacts = { closing: false, lookAheadMs, nowMs: 0, owned: false, room: false };
    this.slots = new RunSlots<Claimed>(options.concurrency);
    this.leases = new LeaseKeeper(options.leaseMs, clock, scripts, keys, events);
    this.recorder = new RunRecorder(options, connection, clock, events, registry.podId, {
      chainFor: (c, plan) => {
        // Asked once per completion: the facts object is reused, not allocated per run.
        const facts = this.chainFacts;
        facts.closing = this.admission.closing;
        facts.nowMs = clock.now();
        facts.owned = registry.owns(c.source.handler.key, c.run.incarnation);
        facts.room = this.lookAheadRoom > 0;
        return Plans.chainDecision(plan, facts);
      },
      chained: (c, fireMs, dueMs, result) => this.admission.chained(c, fireMs, dueMs, result),
      rearmed: (c, dueMs) => onRearm(c.source, dueMs),
      forget: (active) => this.launcher.forget(active),
    });
    this.launcher = new RunLauncher(
      this.leases,
      {
        started: (c) => this.recorder.started(c),
        now: () => clock.now(),
        slotFreed: () => {
          this.admission.pump();
          onRunEnd();
        },
        ended: (active) => {
          if (!active.givenBack) return this.recorder.recordEnd(active);
          moveRun(active.claimed, 'finished-given-back', this.logger);
          this.launcher.forget(active);
        },
      },
      options.lookAheadMs,
      instrumentation,
    );
    this.admission = new RunAdmission(
      options,
      connection,
      clock,
      this.leases,
      this.recorder,
      this.launcher,
      this.slots,
      onRearm,
      onRunEnd,
    );
  }

  /** Handlers running on this pod now. */
  get running(): number {
    return this.launcher.running;
  }

  /** Runs claimed ahead of their due time and not started yet. */
  get reserved(): number {
    return this.admission.reserved;
  }

  /** How many more runs to claim (run-capacity.ts). */
  get claimBudget(): number {
    return Capacity.claimBudget(this.capacity());
  }

  /** Room for runs claimed ahead (run-capacity.ts). */
  get lookAheadRoom(): number {
    return Capacity.lookAheadRoom(this.capacity());
  }

  /** Shutdown began: runs not started are handed back, and claims from now on too. */
  close(): void {
    this.admission.close();
  }

  /** The runs of one claim reply: due ones start in this pass, without another confirmation. */
  dispatchAll(source: RunSource, runs: readonly ClaimedRun[], claim: ClaimInfo): void {
    this.admission.dispatchAll(source, runs, claim);
  }

  /** A remove, pause or upsert made through this process has resolved in Redis (RunSlots). */
  noteWrite(): void {
    this.slots.noteWrite();
  }

  /** Whether schedule changes are pushed to this pod (its wake-channel subscription is live). */
  changesPushed(live: boolean): void {
    this.slots.pushed(live);
  }

  /** Waits up to `timeoutMs` for the runs in flight, then aborts the rest and gives their leases back. */
  async shutdown(timeoutMs: number): Promise<void> {
    await this.launcher.shutdown(timeoutMs);
    this.recorder.stop();
  }

  /** The pod's capacity now, in one object reused for every call (asked once per completion). */
  private capacity(): Capacity.Capacity {
    const cap = this.cap;
    cap.averageRunMs = this.launcher.averageRunMs;
    cap.running = this.launcher.running;
    cap.reserved = this.admission.reserved;
    cap.waiting = this.slots.waiting;
    cap.holding = this.slots.holding;
    return cap;
  }
}
