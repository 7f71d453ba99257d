import { Gauge, Registry } from 'prom-client';
import type { TargetCircuitEvent } from '../../../lib';
import { CircuitStates } from '../../../lib/integrations/prometheus/circuit-states';
import { TenantLabels } from '../../../lib/integrations/prometheus/tenant-labels';

/** The gauge's series after a collect, as [labels, value], in a stable order. */
async function scrape(states: CircuitStates): Promise<[Record<string, unknown>, number][]> {
  const registry = new Registry();
  const gauge = new Gauge({
    name: 'circuit_state',
    help: 'test',
    labelNames: states.labelNames,
    registers: [registry],
    collect() {
      states.collect(this);
    },
  });
  const { values } = await gauge.get();
  return values
    .map((v): [Record<string, unknown>, number] => [{ ...v.labels }, v.value])
    .sort((a, b) => JSON.stringify(a[0]).localeCompare(JSON.stringify(b[0])));
}

const event = (
  tenantId: string,
  state: TargetCircuitEvent['state'],
  host = 'h:1',
): TargetCircuitEvent => ({ tenantId, host, state, consecutiveFailures: 0 });

describe('CircuitStates (the http_target_circuit_state gauge)', () => {
  it('without a tenant label: one series per host, the worst state of its tenants', async () => {
    const states = new CircuitStates(undefined);
    states.update(event('a', 'open'));
    states.update(event('b', 'half-open'));
    expect(await scrape(states)).toEqual([[{ host: 'h:1' }, 2]]);
    states.update(event('a', 'closed'));
    expect(await scrape(states)).toEqual([[{ host: 'h:1' }, 1]]);
    states.update(event('b', 'closed'));
    expect(await scrape(states)).toEqual([[{ host: 'h:1' }, 0]]); // seen once: it stays
  });

  it("with the tenant label: the top N tenants apart, the rest as 'other', static as ''", async () => {
    const tenants = new TenantLabels(1);
    tenants.label('a'); // a run of a: a is the top tenant
    const states = new CircuitStates(tenants);
    states.update(event('a', 'half-open'));
    states.update(event('b', 'open'));
    states.update(event('c', 'half-open'));
    states.update(event('', 'open', 'static:2'));
    expect(await scrape(states)).toEqual([
      [{ host: 'h:1', tenant: 'a' }, 1],
      [{ host: 'h:1', tenant: 'other' }, 2],
      [{ host: 'static:2', tenant: '' }, 2],
    ]);
    expect(tenants.current('a')).toBe('a');
    expect(tenants.current('b')).toBe('other');
    expect(tenants.current(undefined)).toBe('');
  });
});
