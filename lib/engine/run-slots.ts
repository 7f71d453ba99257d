import { ReadyQueue } from './ready-queue';

/**
 * The longest a confirmation stays good for a first attempt waiting for a slot (ms), while
 * changes are pushed (see `pushed`); past it, the run is confirmed again before it starts.
 */
export const CONFIRMATION_FRESH_MS = 1_000;

/** What RunSlots keeps on a run. */
export interface SlotTicket {
  /** The pass it was queued in; -1 for an earlier turn. */
  pass: number;
  /** When that pass began (the clock given to `confirmed`); -Infinity outside a pass. */
  confirmedAt: number;
  /** The local write count at that pass (see `noteWrite`). */
  writeMark: number;
  /** It holds a slot while it is confirmed again. */
  holdsSlot: boolean;
}

/**
 * The runs waiting for a free slot, the slots held by runs being confirmed again, and the
 * confirmation passes. A pass is the synchronous handling of one Redis reply that claimed or
 * confirmed runs. A first attempt may start without another confirmation within that pass; later
 * only while changes are pushed to this pod (every script that changes a schedule holding a run
 * publishes the partition's new change epoch on the wake channel, and this pod is subscribed), no
 * change was made or pushed since (`noteWrite`), and at most CONFIRMATION_FRESH_MS went by. Any
 * other run holds a slot while it is confirmed again, so that a change that resolved meanwhile
 * is honoured. No Redis and no timers here.
 */
export class RunSlots<T extends SlotTicket> {
  private readonly queue = new ReadyQueue<T>();
  private held = 0;
  private pass = 0;
  private passAt = -Infinity;
  private inPass = false;
  private writes = 0;
  private live = false;

  constructor(private readonly concurrency: number) {}

  /** Runs waiting for a slot. */
  get waiting(): number {
    return this.queue.length;
  }

  /** Slots held by runs being confirmed again. */
  get holding(): number {
    return this.held;
  }

  /** Handles one Redis reply's runs as a pass that began at `nowMs`. */
  confirmed(nowMs: number, work: () => void): void {
    this.pass++;
    this.passAt = nowMs;
    this.inPass = true;
    try {
      work();
    } finally {
      this.inPass = false;
    }
  }

  /** Queues `run` for a slot, stamped with the current pass; `first`: ahead of the others. */
  enqueue(run: T, first: boolean): void {
    run.pass = this.inPass ? this.pass : -1;
    run.confirmedAt = this.inPass ? this.passAt : -Infinity;
    run.writeMark = this.writes;
    if (first) this.queue.pushFirst(run);
    else this.queue.push(run);
  }

  /** The next run to give a slot to, when one is free besides `running` handlers. */
  next(running: number): T | undefined {
    return running + this.held < this.concurrency ? this.queue.shift() : undefined;
  }

  /** Whether `run` must be confirmed again before it starts at `nowMs`. */
  stale(run: T, nowMs: number): boolean {
    if (this.inPass && run.pass === this.pass) return false;
    return (
      !this.live || run.writeMark !== this.writes || nowMs - run.confirmedAt > CONFIRMATION_FRESH_MS
    );
  }

  /** A schedule changed (a write through this process, or one pushed): confirmations are stale. */
  noteWrite(): void {
    this.writes++;
  }

  /** Whether changes are pushed to this pod now; any change of it makes confirmations stale. */
  pushed(live: boolean): void {
    this.live = live;
    this.writes++;
  }

  /**
   * `run` keeps a slot while it is confirmed again; released when the answer comes, just before
   * it is queued first in line, so it takes that slot in the same pass.
   */
  hold(run: T): void {
    if (run.holdsSlot) return;
    run.holdsSlot = true;
    this.held++;
  }

  /** Gives up the slot `run` held, if any. */
  release(run: T): void {
    if (!run.holdsSlot) return;
    run.holdsSlot = false;
    this.held--;
  }

  /** Shutdown: every run still waiting, taken out; held slots are forgotten. */
  drain(): T[] {
    this.held = 0;
    return this.queue.drain();
  }
}
