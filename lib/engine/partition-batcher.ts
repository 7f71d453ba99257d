interface Pending<T, R> {
  item: T;
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
}

/**
 * Batches per-run script calls (completions, detachments): everything submitted in the same turn
 * of the event loop goes to Redis in one call per partition, so a burst of short runs costs one
 * round trip instead of one per run.
 */
export class PartitionBatcher<T, R = number> {
  private readonly pending = new Map<number, Pending<T, R>[]>();
  private scheduled = false;

  constructor(
    private readonly send: (partition: number, items: T[]) => Promise<R[]>,
    private readonly maxBatch: number,
  ) {}

  /** Resolves to the script's result for this item (a code: 1 done, or a negative ScriptCode). */
  submit(partition: number, item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const queue = this.pending.get(partition);
      const entry = { item, resolve, reject };
      if (queue) queue.push(entry);
      else this.pending.set(partition, [entry]);
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
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

  private async deliver(partition: number, batch: Pending<T, R>[]): Promise<void> {
    try {
      const results = await this.send(
        partition,
        batch.map((p) => p.item),
      );
      batch.forEach((p, i) => p.resolve(results[i]));
    } catch (error) {
      for (const p of batch) p.reject(error);
    }
  }
}
