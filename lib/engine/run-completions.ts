import type { KeySpace } from '../redis/key-space';
import type { Completion, RedisScripts } from '../redis/redis-scripts';

interface Pending {
  completion: Completion;
  resolve: (code: number) => void;
  reject: (error: unknown) => void;
}

/**
 * Batches run completions: every completion submitted in the same turn of the event loop goes to
 * Redis in one completeRuns call per partition, so a burst of short runs costs one round trip.
 */
export class RunCompletions {
  private readonly pending = new Map<number, Pending[]>();
  private scheduled = false;

  constructor(
    private readonly scripts: RedisScripts,
    private readonly keys: KeySpace,
    private readonly maxBatch: number,
  ) {}

  /** Resolves to the script's code for this run: 1 recorded, or a negative ScriptCode. */
  submit(partition: number, completion: Completion): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      const queue = this.pending.get(partition);
      const entry = { completion, resolve, reject };
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
        void this.send(partition, queue.slice(i, i + this.maxBatch));
      }
    }
    this.pending.clear();
  }

  private async send(partition: number, batch: Pending[]): Promise<void> {
    try {
      const codes = await this.scripts.completeRuns(
        this.keys.partitionBases[partition],
        batch.map((p) => p.completion),
      );
      batch.forEach((p, i) => p.resolve(Number(codes[i])));
    } catch (error) {
      for (const p of batch) p.reject(error);
    }
  }
}
