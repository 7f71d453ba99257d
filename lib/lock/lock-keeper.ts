import type { Logger } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { LockLostError } from '../errors/lock-lost.error';
import { timerDelay } from '../time/timer-delay';
import type { Lock } from './lock';

/**
 * Keeps one Lock renewed, every third of its ttl, while withLock's function runs, and knows until
 * when the lock is surely held: `heldUntil`, on the monotonic clock (a wall-clock step moves
 * nothing), counted from before the request that granted or renewed it (Redis counts the ttl from
 * later). The signal aborts once that deadline passes without a confirmed renewal, or when Redis
 * refuses one. A blocked event loop runs no timer at all, so `finish` checks again at the end.
 */
export class LockKeeper {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private renewal: Promise<void> | undefined;
  /** The lock is ours until then at least (performance.now() time). */
  private heldUntil: number;

  constructor(
    private readonly lock: Lock,
    private readonly ttlMs: number,
    /** performance.now() before the request that acquired the lock was sent. */
    sentAt: number,
    private readonly logger: Logger,
  ) {
    this.heldUntil = sentAt + ttlMs;
    this.timer = setInterval(() => this.tick(), timerDelay(ttlMs / 3));
    this.timer.unref();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /**
   * Stops renewing once the function has settled (at `endedAt`, performance.now()) and releases
   * the lock. Returns a LockLostError unless the lock was held throughout: the signal aborted,
   * Redis no longer held this owner's token at release (expired, taken, failed over), or the
   * function ended past the deadline.
   */
  async finish(endedAt: number): Promise<LockLostError | undefined> {
    clearInterval(this.timer);
    await this.renewal; // a renewal sent before the end may still move the deadline
    if (!this.signal.aborted) {
      const released = await this.lock.release().catch((error: Error) => {
        this.logger.warn(
          `Could not release lock "${this.lock.key}" (${error.message}); it expires after its ttl`,
        );
        return undefined;
      });
      const answeredAt = performance.now();
      const why = lockLoss({ endedAt, heldUntil: this.heldUntil, released, answeredAt });
      if (why) this.lose(why);
    }
    return this.signal.aborted ? (this.signal.reason as LockLostError) : undefined;
  }

  private tick(): void {
    if (this.signal.aborted) return;
    const sentAt = performance.now();
    // Checked on every tick, even while a renewal hangs on an unreachable Redis.
    if (sentAt >= this.heldUntil) return this.lose('it expired before a renewal got through');
    if (this.renewal) return;
    this.renewal = this.lock
      .extend(this.ttlMs)
      .then(
        (ok) => {
          if (!ok) return this.lose('another owner holds it, or it expired');
          this.heldUntil = Math.max(this.heldUntil, sentAt + this.ttlMs);
        },
        (error: Error) => this.lose(`renewal failed: ${error.message}`),
      )
      .finally(() => (this.renewal = undefined));
  }

  private lose(detail: string): void {
    if (this.signal.aborted) return;
    this.logger.warn(`Lost lock "${this.lock.key}": ${detail}`);
    this.controller.abort(new LockLostError(this.lock.key, detail));
  }
}

/** What withLock knows once its function has ended (performance.now() times). */
export interface LockEnd {
  /** When the function settled. */
  endedAt: number;
  /** The lock was surely ours until then (the last confirmed grant's send time + ttl). */
  heldUntil: number;
  /** The release's answer: false = Redis no longer held this owner's token; undefined = no answer. */
  released: boolean | undefined;
  /** When that answer came. */
  answeredAt: number;
}

/**
 * Why the lock cannot be said to have been held from its acquisition until the function ended,
 * or undefined if it was. Past the deadline nothing proves it was held. Before it, the local
 * deadline proves it (Redis counts the ttl from later), unless Redis says the token is gone: an
 * answer that came before the deadline means a takeover or a deletion; a later one may be an
 * expiry after the end, but cannot be told apart, so it counts as a loss too.
 */
export function lockLoss({
  endedAt,
  heldUntil,
  released,
  answeredAt,
}: LockEnd): string | undefined {
  const lateMs = Math.ceil(endedAt - heldUntil);
  if (lateMs >= 0) {
    return released === false
      ? `fn returned ${lateMs} ms after the lock's deadline, and another owner took it or it expired meanwhile`
      : `fn returned ${lateMs} ms after the lock's deadline without a renewal confirmed in time ` +
          '(a blocked event loop renews nothing)';
  }
  if (released !== false) return undefined;
  return answeredAt < heldUntil
    ? 'another owner took it or it was deleted while fn ran'
    : 'Redis answered only after its deadline that it was no longer ours, so it cannot be ' +
        'confirmed to have been held throughout';
}
