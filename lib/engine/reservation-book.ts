import { Logger } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import type { KeySpace } from '../redis/key-space';
import type { ConfirmRefusal, ConfirmReply, Confirmation } from '../redis/protocol/run.types';
import type { RedisScripts } from '../redis/redis-scripts';
import type { RedisClock } from '../time/redis-clock';
import { timerDelay } from '../time/timer-delay';

/** A first attempt claimed before it was due, waiting for its due time. */
export interface Reservation<T> extends Confirmation {
  partition: number;
  dueMs: number;
  /** The partition's change epoch at the claim. */
  epoch: number;
  leaseUntilMs: number;
  item: T;
}

/** What the book asks of Redis: only confirmRuns (a unit test passes a plain function). */
export type ConfirmPort = Pick<RedisScripts, 'confirmRuns'>;
/** The book's view of Redis time: the estimate, and the samples that correct it. */
export type BookClock = Pick<RedisClock, 'now' | 'observe'>;

/** Runs confirmed per script call: the fast path reads no schedule, so the batch can be large. */
const CONFIRM_BATCH = 2_000;
const MAX_RETRY_MS = 2_000;

/**
 * Holds this pod's reservations until they are due, then confirms them with Redis (one
 * confirmRuns call per partition for everything due) and hands over the ones that may start.
 * One timer for all of them, armed at the earliest due time. While Redis cannot be reached the
 * confirmation is retried with backoff; a reservation whose lease runs out meanwhile is dropped
 * (another pod re-claims its fire time).
 */
export class ReservationBook<T> {
  private readonly logger = new Logger('RedisScheduler');
  private readonly heap: Reservation<T>[] = [];
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private confirming = 0;
  private failures = 0;
  private stopped = false;

  constructor(
    private readonly scripts: ConfirmPort,
    private readonly keys: Pick<KeySpace, 'partitionBases'>,
    private readonly clock: BookClock,
    /** Reservations that may start now, with the Redis time and change epoch of their confirmation. */
    private readonly onConfirmed: (items: T[], nowMs: number, epoch: number) => void,
    /** A reservation that will not start (changed, lost or expired), and why. */
    private readonly onDropped: (item: T, why: ConfirmRefusal) => void,
    /** Reservations not confirmed when the book stopped: to hand back. */
    private readonly onReturned: (items: T[]) => void,
  ) {}

  get size(): number {
    return this.heap.length + this.confirming;
  }

  add(reservation: Reservation<T>): void {
    push(this.heap, reservation);
    this.arm(reservation.dueMs - this.clock.now());
  }

  /** Stops confirming and hands every reservation not yet confirmed to the caller. */
  drain(): Reservation<T>[] {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    return this.heap.splice(0, this.heap.length);
  }

  private arm(delayMs: number): void {
    if (this.stopped || this.heap.length === 0) return;
    const delay = timerDelay(delayMs);
    const at = performance.now() + delay;
    if (this.timer && this.timerAt <= at) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.release();
    }, delay);
  }

  /** Takes every reservation due by the clock estimate and confirms it, per partition. */
  private release(): void {
    const now = this.clock.now();
    const due = new Map<number, Reservation<T>[]>();
    while (this.heap.length > 0 && this.heap[0].dueMs <= now) {
      const r = pop(this.heap);
      const group = due.get(r.partition);
      if (group) group.push(r);
      else due.set(r.partition, [r]);
    }
    for (const [partition, group] of due) {
      for (let i = 0; i < group.length; i += CONFIRM_BATCH) {
        void this.confirm(partition, group.slice(i, i + CONFIRM_BATCH));
      }
    }
    if (this.heap.length > 0) this.arm(this.heap[0].dueMs - now);
  }

  private async confirm(partition: number, batch: Reservation<T>[]): Promise<void> {
    let notBefore = 0;
    let epoch = Infinity;
    let leaseUntil = Infinity;
    for (const r of batch) {
      if (r.dueMs > notBefore) notBefore = r.dueMs;
      if (r.epoch < epoch) epoch = r.epoch;
      if (r.leaseUntilMs < leaseUntil) leaseUntil = r.leaseUntilMs;
    }
    this.confirming += batch.length;
    let reply: ConfirmReply;
    try {
      const base = this.keys.partitionBases[partition];
      const sentAt = performance.now();
      // Without the runs first: they are needed only if the partition changed since the claims.
      reply = await this.scripts.confirmRuns(base, notBefore, epoch, leaseUntil, []);
      if (reply.status === 'check') {
        reply = await this.scripts.confirmRuns(base, notBefore, epoch, leaseUntil, batch);
      }
      this.clock.observe(reply.nowMs, sentAt);
    } catch (error) {
      this.confirming -= batch.length;
      this.retryLater(batch, error as Error);
      return;
    }
    this.confirming -= batch.length;
    this.failures = 0;
    if (reply.status === 'early') {
      if (this.stopped) {
        this.onReturned(batch.map((r) => r.item));
        return;
      }
      for (const r of batch) push(this.heap, r);
      this.arm(notBefore - reply.nowMs);
    } else if (reply.status === 'confirmed') {
      this.onConfirmed(
        batch.map((r) => r.item),
        reply.nowMs,
        reply.epoch,
      );
    } else if (reply.status === 'checked') {
      const confirmed: T[] = [];
      reply.verdicts.forEach((verdict, i) => {
        if (verdict === 'ok') confirmed.push(batch[i].item);
        else this.onDropped(batch[i].item, verdict);
      });
      this.onConfirmed(confirmed, reply.nowMs, reply.epoch);
    }
  }

  /** Redis unreachable: keeps the reservations whose lease still holds and tries again later. */
  private retryLater(batch: Reservation<T>[], error: Error): void {
    this.failures++;
    if (this.failures === 1) {
      this.logger.warn(`Cannot confirm reserved runs: ${error.message}; retrying with backoff`);
    }
    const now = this.clock.now();
    const returned: T[] = [];
    for (const r of batch) {
      if (r.leaseUntilMs <= now) this.onDropped(r.item, 'lease-expired');
      else if (this.stopped) returned.push(r.item);
      else push(this.heap, r);
    }
    if (returned.length > 0) this.onReturned(returned);
    this.arm(Math.min(MAX_RETRY_MS, 50 * 2 ** Math.min(this.failures, 6)));
  }
}

/** Min-heap on dueMs. */
function push<T>(heap: Reservation<T>[], item: Reservation<T>): void {
  heap.push(item);
  let i = heap.length - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (heap[parent].dueMs <= item.dueMs) break;
    heap[i] = heap[parent];
    i = parent;
  }
  heap[i] = item;
}

function pop<T>(heap: Reservation<T>[]): Reservation<T> {
  const top = heap[0];
  const last = heap.pop() as Reservation<T>;
  if (heap.length > 0) {
    let i = 0;
    const n = heap.length;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && heap[right].dueMs < heap[left].dueMs ? right : left;
      if (heap[child].dueMs >= last.dueMs) break;
      heap[i] = heap[child];
      i = child;
    }
    heap[i] = last;
  }
  return top;
}
