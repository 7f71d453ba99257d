import { ReadyQueue } from './ready-queue';

/** What RunSlots keeps on a run. */
export interface SlotTicket {
  /** The pass it was queued in; -1 for an earlier turn. */
  pass: number;
  /** It holds a slot while it is confirmed again. */
  holdsSlot: boolean;
}

/**
 * The runs waiting for a free slot, the slots held by runs being confirmed again, and the
 * confirmation passes. A pass is the synchronous handling of one Redis reply that claimed or
 * confirmed runs: a first attempt may start without another confirmation only within the pass
 * that admitted it; one that waits past it holds a slot while it is confirmed again, so that a
 * remove, pause or change that resolved meanwhile is honoured. No Redis and no timers here.
 */
export class RunSlots<T extends SlotTicket> {
  private readonly queue = new ReadyQueue<T>();
  private held = 0;
  private pass = 0;
  private inPass = false;

  constructor(private readonly concurrency: number) {}

  /** Runs waiting for a slot. */
  get waiting(): number {
    return this.queue.length;
  }

  /** Slots held by runs being confirmed again. */
  get holding(): number {
    return this.held;
  }

  /** Handles one Redis reply's runs as a pass. */
  confirmed(work: () => void): void {
    this.pass++;
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
    if (first) this.queue.pushFirst(run);
    else this.queue.push(run);
  }

  /** The next run to give a slot to, when one is free besides `running` handlers. */
  next(running: number): T | undefined {
    return running + this.held < this.concurrency ? this.queue.shift() : undefined;
  }

  /** Whether `run` was admitted in an earlier pass than the one under way. */
  stale(run: T): boolean {
    return !(this.inPass && run.pass === this.pass);
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
