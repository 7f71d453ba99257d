import { Histogram, Registry } from 'prom-client';
import { BucketHistogram } from '../../../lib/integrations/prometheus/metric-buffers';

const BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
// On the bounds, between them, past the last, and 0: every bucket and +Inf.
const VALUES = [0, 0.01, 0.011, 0.05, 0.07, 0.1, 0.2, 0.25, 0.5, 0.75, 1, 2.5, 2.6, 100, 0.003];

describe('BucketHistogram: counts into buckets itself, exposed as prom-client would', () => {
  it('gives the same text and JSON as a prom-client Histogram that observed the same values', async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const labelsOf = (key: string) => ({ handler: key });
    const bucketed = new BucketHistogram(
      { name: 'h', help: 'help', labelNames: ['handler'], buckets: BUCKETS, registers: [ours] },
      labelsOf,
    );
    const reference = new Histogram({
      name: 'h',
      help: 'help',
      labelNames: ['handler'],
      buckets: BUCKETS,
      registers: [theirs],
    });
    for (const [i, v] of VALUES.entries()) {
      const key = i % 3 === 0 ? 'a' : 'b';
      bucketed.add(key, v);
      reference.observe(labelsOf(key), v);
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
    expect(await ours.getMetricsAsJSON()).toEqual(await theirs.getMetricsAsJSON());
    expect(await ours.metrics()).toContain('h_bucket{le="0.05",handler="a"} 2\n');
  });

  it('forgets its series on reset, as prom-client does', async () => {
    const registry = new Registry();
    const h = new BucketHistogram(
      { name: 'h', help: 'help', labelNames: ['handler'], buckets: BUCKETS, registers: [registry] },
      (key) => ({ handler: key }),
    );
    h.add('a', 0.2);
    expect(await registry.metrics()).toContain('h_count{handler="a"} 1');
    h.reset();
    expect(await registry.metrics()).not.toContain('handler="a"');
  });
});
