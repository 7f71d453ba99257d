import type { Counter, Histogram } from 'prom-client';

/** Values of the labels of one series, and its key (the values joined). */
type Series = Record<string, string>;

/**
 * Counts kept as plain numbers per series and added to the prom-client Counter at each scrape
 * (`flush()` from its `collect`): a run costs a Map lookup, not prom-client's label hashing.
 */
export class CounterBuffer {
  private readonly pending = new Map<string, { labels: Series; n: number }>();

  constructor(private readonly counter: Counter<string>) {}

  add(key: string, labels: () => Series, n = 1): void {
    const entry = this.pending.get(key);
    if (entry) entry.n += n;
    else this.pending.set(key, { labels: labels(), n });
  }

  flush(): void {
    for (const entry of this.pending.values()) {
      if (entry.n > 0) this.counter.inc(entry.labels, entry.n);
      entry.n = 0;
    }
  }
}

/** Most values a histogram series holds before they are observed without waiting for a scrape. */
const MAX_PENDING = 512;

/** Observations kept per series and handed to the prom-client Histogram in batches. */
export class HistogramBuffer {
  private readonly pending = new Map<string, { labels: Series; values: number[] }>();

  constructor(private readonly histogram: Histogram<string>) {}

  observe(key: string, labels: () => Series, value: number): void {
    let entry = this.pending.get(key);
    if (!entry) this.pending.set(key, (entry = { labels: labels(), values: [] }));
    entry.values.push(value);
    if (entry.values.length >= MAX_PENDING) this.drain(entry);
  }

  flush(): void {
    for (const entry of this.pending.values()) this.drain(entry);
  }

  private drain(entry: { labels: Series; values: number[] }): void {
    const child = this.histogram.labels(entry.labels);
    for (const value of entry.values) child.observe(value);
    entry.values.length = 0;
  }
}
