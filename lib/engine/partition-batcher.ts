interface Pending<T> {
  item: T;
  resolve: (code: number) => void;
  reject: (error: unknown) => void;
}

/**
 * Batches per-run script calls (completions, detachments): everything submitted in the same turn
 * of the event loop goes to Redis in one call per partition, so a burst of short runs costs one
 * round trip instead of one per run.
 */
export class PartitionBatcher<T> {
  private readonly pending = new Map<number, Pending<T>[]>();
  private scheduled = false;

  constructor(
    private readonly send: (partition: number, items: T[]) => Promise<number[]>,
    private readonly maxBatch: number,
  ) {}

  /** Resolves to the script's code for this item: 1 done, or a negative ScriptCode. */
  submit(partition: number, item: T): Promise<number> {
    return new Promise<number>((resolve, reject) => {
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

  private async deliver(partition: number, batch: Pending<T>[]): Promise<void> {
    try {
      const codes = await this.send(
        partition,
        batch.map((p) => p.item),
      );
      batch.forEach((p, i) => p.resolve(Number(codes[i])));
    } catch (error) {
      for (const p of batch) p.reject(error);
    }
  }
}
