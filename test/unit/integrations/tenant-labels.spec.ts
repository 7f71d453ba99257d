import { SchedulerMetricsModule } from '../../../lib/integrations/prometheus';
import {
  NO_TENANT,
  OTHER_TENANTS,
  TenantLabels,
} from '../../../lib/integrations/prometheus/tenant-labels';
import { InvalidOptionsError } from '../../../lib';

describe('TenantLabels', () => {
  it('labels the first N tenants by name and the rest as other; static runs as ""', () => {
    const labels = new TenantLabels(2);
    expect(labels.label(undefined)).toBe(NO_TENANT);
    expect(labels.label('a')).toBe('a');
    expect(labels.label('b')).toBe('b');
    expect(labels.label('c')).toBe(OTHER_TENANTS);
    expect(labels.label('a')).toBe('a');
  });

  it('lets a tenant with more than twice the runs of the least of the top N take its place', () => {
    const labels = new TenantLabels(2);
    for (let i = 0; i < 5; i++) labels.label('a');
    labels.label('b');
    expect(labels.label('c')).toBe(OTHER_TENANTS); // c: 1 run, b: 1
    expect(labels.label('c')).toBe(OTHER_TENANTS); // c: 2, not more than twice b's 1
    expect(labels.label('c')).toBe('c'); // c: 3 > 2 × 1
    expect(labels.label('b')).toBe(OTHER_TENANTS);
    expect(labels.label('a')).toBe('a');
  });

  it('does not let tenants of equal load take turns', () => {
    const labels = new TenantLabels(1);
    const values = new Set<string>();
    for (let i = 0; i < 3_000; i++) values.add(labels.label(['x', 'y', 'z'][i % 3]));
    expect([...values].sort()).toEqual([OTHER_TENANTS, 'x']);
  });

  it('gives the many small tenants one label, other, while the busy ones keep theirs', () => {
    const labels = new TenantLabels(2);
    for (let i = 0; i < 50; i++) {
      labels.label('big1');
      labels.label('big2');
    }
    const values = new Set<string>();
    for (let i = 0; i < 5_000; i++) values.add(labels.label(`small${i}`));
    expect([...values]).toEqual([OTHER_TENANTS]);
    expect([labels.label('big1'), labels.label('big2')]).toEqual(['big1', 'big2']);
  });
});

describe('SchedulerMetricsModule.forRoot', () => {
  it('refuses a prefix Prometheus would not accept, saying what is allowed', () => {
    expect(() => SchedulerMetricsModule.forRoot({ prefix: 'my-app_' })).toThrow(
      InvalidOptionsError,
    );
    expect(() => SchedulerMetricsModule.forRoot({ prefix: '9x_' })).toThrow(
      /not a Prometheus metric name prefix; use letters, digits, '_' and ':'/,
    );
    expect(() => SchedulerMetricsModule.forRoot({ prefix: 'app:jobs_' })).not.toThrow();
  });

  it('refuses a tenant topN that is not an integer from 1 to 1000', () => {
    for (const topN of [0, -1, 1.5, 1_001]) {
      expect(() => SchedulerMetricsModule.forRoot({ tenantLabel: { topN } })).toThrow(
        /tenantLabel.topN: .* is not an integer from 1 to 1000/,
      );
    }
  });
});
