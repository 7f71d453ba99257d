/**
 * Batches per-run script calls: everything added in the same turn of the event loop goes to
 * Redis in one call per partition (at most `maxBatch` items each), so a burst of short runs costs
 * one round trip instead of one per run. Results come back through one handler per queue, not a
 * promise per item: a burst of thousands of runs then holds nothing per run but its item while
 * the call is out.
 */
export class PartitionQueue<T, R> {
  private readonly pending = new Map<number, T[]>();
  private scheduled = false;

  constructor(
    private readonly send: (partition: number, items: T[]) => Promise<R[]>,
    private readonly maxBatch: number,
    /** Each item with the script's result for it. */
    private readonly onResult: (item: T, result: R) => void,
    /** The items of a call that failed (Redis unreachable, a script error). */
    private readonly onError: (items: T[], error: unknown) => void,
  ) {}

  add(partition: number, item: T): void {
    const queue = this.pending.get(partition);
    if (queue) queue.push(item);
    else this.pending.set(partition, [item]);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.scheduled = false;
    for (const [partition, queue] of this.pending) {
      for (let i = 0; i < queue.length; i += this.maxBatch) {
        void this.deliver(partition, queue.slice(i, i + this.maxBatch));
      }
    }
    this.pending.clear();
  }

  private async deliver(partition: number, batch: T[]): Promise<void> {
    let results: R[];
    try {
      results = await this.send(partition, batch);
    } catch (error) {
      this.onError(batch, error);
      return;
    }
    for (let i = 0; i < batch.length; i++) this.onResult(batch[i], results[i]);
  }
}

interface Pending<T, R> {
  item: T;
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
}

/** A PartitionQueue with a promise per item, for the calls that are not per-run hot paths. */
export class PartitionBatcher<T, R> {
  private readonly queue: PartitionQueue<Pending<T, R>, R>;

  constructor(send: (partition: number, items: T[]) => Promise<R[]>, maxBatch: number) {
    this.queue = new PartitionQueue<Pending<T, R>, R>(
      (partition, batch) =>
        send(
          partition,
          batch.map((p) => p.item),
        ),
      maxBatch,
      (p, result) => p.resolve(result),
      (batch, error) => {
        for (const p of batch) p.reject(error);
      },
    );
  }

  /** Resolves to the script's typed result for this item; rejects if the call failed. */
  submit(partition: number, item: T): Promise<R> {
    return new Promise<R>((resolve, reject) =>
      this.queue.add(partition, { item, resolve, reject }),
    );
  }
}
