import { Logger } from '@nestjs/common';
import { LockLostError } from '../errors/lock-lost.error';
import type { KeySpace } from '../redis/key-space';
import type { SchedulerEvents } from '../events/scheduler-events';
import type { LeaseRefusal } from '../redis/protocol/run.types';
import type { RedisScripts } from '../redis/redis-scripts';
import type { RedisClock } from '../time/redis-clock';
import { timerDelay } from '../time/timer-delay';
import type { RunAbort } from './run-abort';

/** A run this pod holds a lease on. */
export interface LeasedRun {
  partition: number;
  member: string;
  /** The claim's fencing token, which is also its owner token. */
  fencingToken: number;
  scheduleId: string;
  /** Lease expiry in Redis time (ms). */
  leaseUntilMs: number;
  abort: RunAbort;
}

/** What the keeper asks of Redis (a unit test passes plain functions). */
export type LeasePort = Pick<RedisScripts, 'extendLeases' | 'releaseRuns'>;

/** The lease of a reservation, from its due time, when `leaseMs` is longer. */
const RESERVATION_LEASE_MS = 5_000;

/**
 * The lease of a run claimed ahead of its due time (a reservation), counted from that due time:
 * short, so that the fire times a crashed pod had reserved are re-claimed by another pod within
 * a few seconds of their due time, not `leaseMs` after it. Once started, the run's lease is
 * renewed to `leaseMs` at the lease keeper's next tick (it has less than half a lease left), which
 * comes well before the abort margin: 5 s against at most 1 s per tick and 1.1 s of margin.
 */
export function reservationLeaseMs(leaseMs: number): number {
  return Math.min(leaseMs, RESERVATION_LEASE_MS);
}

/** Slack for the error of the local estimate of Redis time and for a late timer. */
const ESTIMATE_SLACK_MS = 100;

/**
 * Keeps the leases of this pod's runs alive with one timer for all of them (unref'd, never two
 * renewals at once): every eighth of a lease (at most every second) it renews, in one script call
 * per partition, each run with less than half its lease left. A run whose lease Redis refuses to
 * renew has its signal aborted; so has one whose lease comes within `abortMarginMs` of running out
 * by this pod's monotonic estimate of Redis time (Redis unreachable): before another pod can
 * re-claim the run, since a re-claim needs Redis TIME past the lease.
 */
export class LeaseKeeper {
  /**
   * One tick of the timer plus the estimate's slack: a lost run aborts at the first tick that finds
   * less than this left of its lease, so with more than the slack (100 ms) left.
   */
  readonly abortMarginMs: number;
  private readonly tickMs: number;
  private readonly runs = new Set<LeasedRun>();
  private readonly logger = new Logger('RedisScheduler');
  private timer: NodeJS.Timeout | undefined;
  private renewing = false;

  constructor(
    private readonly leaseMs: number,
    private readonly clock: Pick<RedisClock, 'now'>,
    private readonly scripts: LeasePort,
    private readonly keys: Pick<KeySpace, 'partitionBases' | 'wakeChannel'>,
    /** Told of lost leases ('lease.lost') and failed renewals ('redis.error'). */
    private readonly events?: Pick<SchedulerEvents, 'wants' | 'emit'>,
  ) {
    this.tickMs = Math.max(1, timerDelay(Math.floor(leaseMs / 8), 1_000));
    this.abortMarginMs = this.tickMs + ESTIMATE_SLACK_MS;
  }

  add(run: LeasedRun): void {
    this.runs.add(run);
    if (!this.timer) {
      this.timer = setInterval(() => void this.tick(), this.tickMs);
      this.timer.unref();
    }
  }

  delete(run: LeasedRun): void {
    this.runs.delete(run);
    if (this.runs.size === 0) this.stop();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * Hands back first attempts that never started, as if never claimed: another pod claims them
   * at once with attempt 1 (see releaseRuns-1.lua).
   */
  async release(
    runs: readonly Pick<LeasedRun, 'partition' | 'member' | 'fencingToken'>[],
  ): Promise<void> {
    await Promise.all(
      groupByPartition(runs).map(([partition, group]) =>
        this.scripts.releaseRuns(this.keys.partitionBases[partition], this.keys.wakeChannel, group),
      ),
    );
  }

  /**
   * Hands back claimed runs that will not start: first attempts as if never claimed (`release`:
   * another pod claims them at once with attempt 1), re-runs by ending their lease (`giveBack`:
   * attempt + 1).
   */
  async handBack(
    runs: readonly (Pick<LeasedRun, 'partition' | 'member' | 'fencingToken'> & {
      firstAttempt: boolean;
    })[],
  ): Promise<void> {
    await Promise.all([
      this.release(runs.filter((r) => r.firstAttempt)),
      this.giveBack(runs.filter((r) => !r.firstAttempt)),
    ]);
  }

  /** Ends the leases now so another pod re-claims these runs at once (attempt + 1). */
  async giveBack(
    runs: readonly Pick<LeasedRun, 'partition' | 'member' | 'fencingToken'>[],
  ): Promise<void> {
    await Promise.all(
      groupByPartition(runs).map(([partition, group]) =>
        this.scripts.extendLeases(this.keys.partitionBases[partition], 0, group),
      ),
    );
  }

  private async tick(): Promise<void> {
    // The local deadline is checked on every tick, even while a renewal hangs on an unreachable
    // Redis; the next tick may come `tickMs` late, hence the margin.
    const now = this.clock.now();
    const renew: LeasedRun[] = [];
    for (const run of this.runs) {
      if (run.abort.aborted) continue;
      if (run.leaseUntilMs - this.abortMarginMs <= now) this.lose(run, 'lease-expired');
      else if (run.leaseUntilMs - now < this.leaseMs / 2) renew.push(run);
    }
    if (this.renewing || renew.length === 0) return;
    this.renewing = true;
    try {
      await Promise.all(groupByPartition(renew).map(([p, group]) => this.renew(p, group)));
    } catch (error) {
      this.logger.debug(`Lease renewal failed: ${(error as Error).message}`);
      if (this.events?.wants('redis.error')) {
        this.events.emit('redis.error', { operation: 'renew', error: (error as Error).message });
      }
    } finally {
      this.renewing = false;
    }
  }

  private async renew(partition: number, runs: LeasedRun[]): Promise<void> {
    const results = await this.scripts.extendLeases(
      this.keys.partitionBases[partition],
      this.leaseMs,
      runs,
    );
    results.forEach((result, i) => {
      if (typeof result === 'number') runs[i].leaseUntilMs = result;
      else this.lose(runs[i], result);
    });
  }

  private lose(run: LeasedRun, refusal: LeaseRefusal): void {
    const why = refusal === 'lease-lost' ? 'taken over or removed' : 'lease expired';
    this.logger.warn(`Run of "${run.scheduleId}" lost its lease (${why}); aborting its signal`);
    run.abort.abort(new LockLostError(run.member, why));
    if (this.events?.wants('lease.lost')) {
      const { scheduleId, fencingToken } = run;
      this.events.emit('lease.lost', { scheduleId, fencingToken, reason: why });
    }
  }
}

function groupByPartition<R extends Pick<LeasedRun, 'partition'>>(
  runs: readonly R[],
): [number, R[]][] {
  const groups = new Map<number, R[]>();
  for (const run of runs) {
    const group = groups.get(run.partition);
    if (group) group.push(run);
    else groups.set(run.partition, [run]);
  }
  return [...groups];
}
