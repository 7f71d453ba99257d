import { SchedulerEvents } from '../../../lib';
import { CircuitBreaker } from '../../../lib/integrations/http/circuit-breaker';
import { HttpTargetBreakers } from '../../../lib/integrations/http/http-target-breakers';
import { resolveHttpTargetsOptions } from '../../../lib/integrations/http/http-targets.options';

let now = 0;
const breaker = () => new CircuitBreaker({ failureThreshold: 3, coolDownMs: 1_000 }, () => now);

beforeEach(() => (now = 10_000));

describe('CircuitBreaker', () => {
  it('stays closed below the threshold, and a success resets the count', () => {
    const b = breaker();
    b.record('failure', false);
    b.record('failure', false);
    expect(b.snapshot()).toEqual({ state: 'closed', consecutiveFailures: 2, openedAtMs: null });
    b.record('success', false);
    b.record('failure', false);
    b.record('failure', false);
    expect(b.admit()).toEqual({ pass: true, probe: false });
    expect(b.snapshot().consecutiveFailures).toBe(2);
  });

  it('opens after N consecutive failures and fails fast until the cool-down is over', () => {
    const b = breaker();
    for (let i = 0; i < 3; i++) b.record('failure', false);
    expect(b.snapshot()).toEqual({ state: 'open', consecutiveFailures: 3, openedAtMs: 10_000 });
    expect(b.admit()).toEqual({ pass: false, retryAtMs: 11_000 });
    now = 10_999;
    expect(b.admit()).toEqual({ pass: false, retryAtMs: 11_000 });
  });

  it('after the cool-down lets exactly one probe through (half-open); the others fail fast', () => {
    const b = breaker();
    for (let i = 0; i < 3; i++) b.record('failure', false);
    now = 11_000;
    expect(b.snapshot().state).toBe('half-open');
    expect(b.admit()).toEqual({ pass: true, probe: true });
    expect(b.admit()).toEqual({ pass: false, retryAtMs: 11_000 });
  });

  it('a probe that succeeds closes it', () => {
    const b = breaker();
    for (let i = 0; i < 3; i++) b.record('failure', false);
    now = 11_500;
    b.admit();
    b.record('success', true);
    expect(b.snapshot()).toEqual({ state: 'closed', consecutiveFailures: 0, openedAtMs: null });
    expect(b.admit()).toEqual({ pass: true, probe: false });
    expect(b.idle).toBe(true);
  });

  it('a probe that fails opens it again for another cool-down', () => {
    const b = breaker();
    for (let i = 0; i < 3; i++) b.record('failure', false);
    now = 11_500;
    b.admit();
    b.record('failure', true);
    expect(b.snapshot()).toMatchObject({ state: 'open', openedAtMs: 11_500 });
    expect(b.admit()).toEqual({ pass: false, retryAtMs: 12_500 });
  });

  it('a probe that ends neutral (aborted) lets the next call probe', () => {
    const b = breaker();
    for (let i = 0; i < 3; i++) b.record('failure', false);
    now = 11_000;
    expect(b.admit()).toMatchObject({ probe: true });
    b.record('neutral', true);
    expect(b.snapshot().state).toBe('half-open');
    expect(b.admit()).toEqual({ pass: true, probe: true });
  });

  it('a late failure of a call admitted while closed does not reopen a half-open breaker', () => {
    const b = breaker();
    for (let i = 0; i < 3; i++) b.record('failure', false);
    now = 11_000;
    b.admit();
    b.record('failure', false);
    expect(b.snapshot().state).toBe('half-open');
  });
});

describe('HttpTargetBreakers', () => {
  const service = (breaker?: { failureThreshold: number; coolDownMs: number } | false) => {
    const s = new HttpTargetBreakers(resolveHttpTargetsOptions({ allow: ['*'], breaker }));
    s.now = () => now;
    return s;
  };

  it('keeps one breaker per host (case-insensitive), remembering only hosts with failures', () => {
    const s = service({ failureThreshold: 2, coolDownMs: 500 });
    s.record('acme', 'Api.Example.com:8443', 'failure', false);
    s.record('acme', 'api.example.com:8443', 'failure', false);
    s.record('acme', 'other.example.com', 'success', false);
    expect(s.circuits()).toEqual([
      {
        tenantId: 'acme',
        host: 'api.example.com:8443',
        state: 'open',
        consecutiveFailures: 2,
        openedAt: new Date(10_000),
        retryAt: new Date(10_500),
      },
    ]);
    expect(s.admit('acme', 'API.example.com:8443')).toEqual({ pass: false, retryAtMs: 10_500 });
    expect(s.admit('acme', 'other.example.com')).toEqual({ pass: true, probe: false });
    expect(s.circuit('acme', 'unknown.example.com')).toMatchObject({
      state: 'closed',
      consecutiveFailures: 0,
    });
    now = 10_500;
    expect(s.admit('acme', 'api.example.com:8443')).toEqual({ pass: true, probe: true });
    s.record('acme', 'api.example.com:8443', 'success', true);
    expect(s.circuits()).toEqual([]);
  });

  it('keeps tenants apart: one tenant opening a host leaves the others closed and unlisted', () => {
    const s = service({ failureThreshold: 2, coolDownMs: 500 });
    s.record('globex', 'shared.example.com', 'failure', false);
    s.record('globex', 'shared.example.com', 'failure', false);
    s.record('', 'shared.example.com', 'failure', false); // a static schedule: tenant ''
    expect(s.admit('globex', 'shared.example.com')).toMatchObject({ pass: false });
    expect(s.admit('acme', 'shared.example.com')).toEqual({ pass: true, probe: false });
    expect(s.admit('', 'shared.example.com')).toEqual({ pass: true, probe: false });
    expect(s.circuit('acme', 'shared.example.com')).toMatchObject({
      tenantId: 'acme',
      state: 'closed',
      consecutiveFailures: 0,
    });
    expect(s.circuits('acme')).toEqual([]);
    expect(s.circuits('globex')).toEqual([
      expect.objectContaining({ tenantId: 'globex', state: 'open', consecutiveFailures: 2 }),
    ]);
    expect(s.circuits().map((c) => [c.tenantId, c.host, c.state])).toEqual([
      ['', 'shared.example.com', 'closed'],
      ['globex', 'shared.example.com', 'open'],
    ]);
    s.record('', 'shared.example.com', 'success', false);
    expect(s.circuits().map((c) => c.tenantId)).toEqual(['globex']);
  });

  it("emits 'target.circuit' on each change of a host's state, read or call, and only then", () => {
    const events = new SchedulerEvents();
    const seen: unknown[] = [];
    events.on('target.circuit', (e) => seen.push(e));
    const s = new HttpTargetBreakers(
      resolveHttpTargetsOptions({
        allow: ['*'],
        breaker: { failureThreshold: 2, coolDownMs: 500 },
      }),
      events,
    );
    s.now = () => now;
    s.record('acme', 'Api.example.com', 'failure', false); // counted, still closed: no event
    expect(seen).toEqual([]);
    s.record('acme', 'api.example.com', 'failure', false);
    expect(s.admit('acme', 'api.example.com')).toMatchObject({ pass: false });
    now = 10_500;
    expect(s.circuit('acme', 'api.example.com').state).toBe('half-open'); // a read finds the cool-down over
    expect(s.admit('acme', 'api.example.com')).toEqual({ pass: true, probe: true });
    s.record('acme', 'api.example.com', 'failure', true); // the probe failed: open again
    now = 11_000;
    s.admit('acme', 'api.example.com');
    s.record('acme', 'api.example.com', 'success', true);
    const host = 'api.example.com';
    expect(seen).toEqual([
      { tenantId: 'acme', host, state: 'open', consecutiveFailures: 2 },
      { tenantId: 'acme', host, state: 'half-open', consecutiveFailures: 2 },
      { tenantId: 'acme', host, state: 'open', consecutiveFailures: 3 },
      { tenantId: 'acme', host, state: 'half-open', consecutiveFailures: 3 },
      { tenantId: 'acme', host, state: 'closed', consecutiveFailures: 0 },
    ]);
  });

  it('does nothing with breaker: false', () => {
    const s = service(false);
    for (let i = 0; i < 10; i++) s.record('acme', 'h', 'failure', false);
    expect(s.admit('acme', 'h')).toEqual({ pass: true, probe: false });
    expect(s.circuits()).toEqual([]);
  });

  it('defaults to 5 failures and a 30 s cool-down', () => {
    const s = service(undefined);
    for (let i = 0; i < 4; i++) s.record('acme', 'h', 'failure', false);
    expect(s.circuit('acme', 'h').state).toBe('closed');
    s.record('acme', 'h', 'failure', false);
    expect(s.circuit('acme', 'h')).toMatchObject({ state: 'open', retryAt: new Date(40_000) });
  });
});
