import { type Counter, Histogram, type HistogramConfiguration } from 'prom-client';

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

/** prom-client's default histogram buckets (passed explicitly, so that both sides agree). */
export const DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** One series of a BucketHistogram: its labels, its count per bucket (the last: +Inf), sum and count. */
interface BucketSeries {
  labels: Series;
  buckets: Float64Array;
  sum: number;
  count: number;
}

/**
 * A prom-client Histogram whose runs are counted into their buckets here (`add(key, value)`: a
 * Map lookup and a few comparisons and increments per value) instead of by prom-client's
 * `observe` (a labels object, label checks and a hash string per value), and exposed from its own
 * counts: the same samples, in the same order and shape, as prom-client's Histogram. Its
 * prom-client `observe()` is not used (what it records is not exposed).
 */
export class BucketHistogram extends Histogram<string> {
  private readonly series = new Map<string, BucketSeries>();
  private readonly bounds: readonly number[];
  private readonly metricName: string;
  private readonly helpText: string;

  /** `labels(key)`: the label values of a series, asked once per series. */
  constructor(
    configuration: HistogramConfiguration<string> & { buckets: number[] },
    private readonly labelsOf: (key: string) => Series,
  ) {
    super(configuration);
    this.bounds = [...configuration.buckets];
    this.metricName = configuration.name;
    this.helpText = configuration.help;
  }

  add(key: string, value: number): void {
    let s = this.series.get(key);
    if (!s) {
      s = {
        labels: this.labelsOf(key),
        buckets: new Float64Array(this.bounds.length + 1),
        sum: 0,
        count: 0,
      };
      this.series.set(key, s);
    }
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && !(value <= bounds[i])) i++;
    s.buckets[i]++;
    s.sum += value;
    s.count++;
  }

  override reset(): void {
    // Also called by prom-client's constructor, before this class's fields exist.
    (this.series as Map<string, BucketSeries> | undefined)?.clear();
    super.reset();
  }

  /** prom-client's Registry reads this (when present) for the text format: labels apart from `le`. */
  getForPromString(): Awaited<ReturnType<Histogram<string>['get']>> {
    const name = this.metricName;
    const values: Array<Record<string, unknown>> = [];
    for (const s of this.series.values()) {
      let cumulative = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        cumulative += s.buckets[i];
        values.push(sample({ le: this.bounds[i] }, cumulative, `${name}_bucket`, s.labels, null));
      }
      values.push(
        sample({ le: '+Inf' }, s.count, `${name}_bucket`, s.labels, null),
        sample({}, s.sum, `${name}_sum`, s.labels),
        sample({}, s.count, `${name}_count`, s.labels),
      );
    }
    return {
      name,
      help: this.helpText,
      type: 'histogram',
      values,
      aggregator: 'sum',
    } as unknown as Awaited<ReturnType<Histogram<string>['get']>>;
  }

  override async get(): ReturnType<Histogram<string>['get']> {
    const data = this.getForPromString();
    for (const v of data.values as unknown as Array<Record<string, unknown>>) {
      v['labels'] = { ...(v['labels'] as Series), ...(v['sharedLabels'] as Series) };
      delete v['sharedLabels'];
    }
    return Promise.resolve(data);
  }
}

function sample(
  labels: Record<string, string | number>,
  value: number,
  metricName: string,
  sharedLabels: Series,
  exemplar?: null,
): Record<string, unknown> {
  return { labels, value, metricName, exemplar, sharedLabels };
}
