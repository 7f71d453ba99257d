import type { Counter, Histogram } from 'prom-client';

/** Values of the labels of one series, and its key (the values joined). */
type Series = Record<string, string>;

/**
 * Counts kept as plain numbers per series and added to the prom-client Counter at each scrape
 * (`flush()` from its `collect`): a run costs two Map lookups (its outcome, then the key of its
 * other labels), not prom-client's label hashing nor a string or closure of its own.
 */
export class CounterBuffer {
  private readonly byOutcome = new Map<string, Map<string, { labels: Series; n: number }>>();
  private readonly pending: { labels: Series; n: number }[] = [];

  /** `labels(key, outcome)`: the label values of a series, asked once per series. */
  constructor(
    private readonly counter: Counter<string>,
    private readonly labels: (key: string, outcome: string) => Series,
  ) {}

  add(key: string, outcome: string, n = 1): void {
    let series = this.byOutcome.get(outcome);
    if (!series) this.byOutcome.set(outcome, (series = new Map()));
    const entry = series.get(key);
    if (entry) entry.n += n;
    else {
      const created = { labels: this.labels(key, outcome), n };
      series.set(key, created);
      this.pending.push(created);
    }
  }

  flush(): void {
    for (const entry of this.pending) {
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

  /** `labels(key)`: the label values of a series, asked once per series. */
  constructor(
    private readonly histogram: Histogram<string>,
    private readonly labels: (key: string) => Series,
  ) {}

  observe(key: string, value: number): void {
    let entry = this.pending.get(key);
    if (!entry) this.pending.set(key, (entry = { labels: this.labels(key), values: [] }));
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
