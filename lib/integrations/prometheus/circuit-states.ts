import type { Gauge } from 'prom-client';
import type { TargetCircuitEvent } from '../../index';
import type { TenantLabels } from './tenant-labels';

/** The value of `http_target_circuit_state` per state. */
const CIRCUIT_STATES = { closed: 0, 'half-open': 1, open: 2 } as const;

/** One series of the gauge: its labels and its value. */
interface Series {
  labels: Record<string, string>;
  value: number;
}

/**
 * What `http_target_circuit_state` shows of the 'target.circuit' events. The breakers are per
 * tenant and host; a series is per host, plus `tenant` when the tenant label is on (the same
 * bounded label as the run metrics': the top N tenants, 'other', '' for static schedules). The
 * breakers that share a series (every tenant without the tenant label, the tenants counted as
 * 'other' with it) show the worst of their states. A series, once seen, stays (0 when all its
 * breakers are closed); only the breakers not closed are remembered.
 */
export class CircuitStates {
  /** Breakers not closed, by tenant and host ('\0' is in neither). */
  private readonly live = new Map<string, { tenantId: string; host: string; value: number }>();
  private readonly seen = new Map<string, Record<string, string>>();

  constructor(private readonly tenants: TenantLabels | undefined) {}

  /** The label names of the gauge. */
  get labelNames(): string[] {
    return this.tenants ? ['host', 'tenant'] : ['host'];
  }

  update(event: TargetCircuitEvent): void {
    const { tenantId, host, state } = event;
    const key = `${tenantId}\0${host}`;
    if (state === 'closed') this.live.delete(key);
    else this.live.set(key, { tenantId, host, value: CIRCUIT_STATES[state] });
    const series = this.series(tenantId, host);
    this.seen.set(series.key, series.labels);
  }

  /** Sets `gauge` to the current states (at each scrape: tenant labels may have moved). */
  collect(gauge: Gauge<string>): void {
    const out = new Map<string, Series>();
    for (const [key, labels] of this.seen) out.set(key, { labels, value: 0 });
    for (const { tenantId, host, value } of this.live.values()) {
      const { key, labels } = this.series(tenantId, host);
      this.seen.set(key, labels);
      const current = out.get(key);
      if (!current || current.value < value) out.set(key, { labels, value });
    }
    gauge.reset();
    for (const { labels, value } of out.values()) gauge.set(labels, value);
  }

  private series(tenantId: string, host: string): { key: string; labels: Record<string, string> } {
    if (!this.tenants) return { key: host, labels: { host } };
    const tenant = this.tenants.current(tenantId === '' ? undefined : tenantId);
    return { key: `${host}\0${tenant}`, labels: { host, tenant } };
  }
}
