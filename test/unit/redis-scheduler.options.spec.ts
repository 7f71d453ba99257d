import { InvalidOptionsError } from '../../lib';
import { resolveOptions } from '../../lib/redis-scheduler.options';
import { MAX_TIMER_MS } from '../../lib/time/timer-delay';

const redis = 'redis://127.0.0.1:6379';

describe('resolveOptions: durations that end in a timer', () => {
  // Beyond 2^31 - 1 ms a Node.js timer fires after 1 ms (shutdownTimeoutMs 2^31 aborted
  // in-flight runs after 16 ms).
  it.each(['shutdownTimeoutMs', 'leaseMs', 'maxIdleMs', 'connectTimeoutMs'])(
    '%s: 2 ** 31 is refused with InvalidOptionsError naming the option and the bound; 2 ** 31 - 1 is kept',
    (name) => {
      const refuse = () => resolveOptions({ redis, [name]: 2 ** 31 });
      expect(refuse).toThrow(InvalidOptionsError);
      expect(refuse).toThrow(`option \`${name}\``);
      expect(refuse).toThrow(/2147483648 must be an integer from \d+ to 2147483647 ms/);
      expect(resolveOptions({ redis, [name]: MAX_TIMER_MS })).toMatchObject({
        [name]: MAX_TIMER_MS,
      });
    },
  );

  it('keeps the lower bounds', () => {
    expect(() => resolveOptions({ redis, leaseMs: 499 })).toThrow('option `leaseMs`');
    expect(() => resolveOptions({ redis, maxIdleMs: 9 })).toThrow('option `maxIdleMs`');
    expect(() => resolveOptions({ redis, shutdownTimeoutMs: -1 })).toThrow(
      'option `shutdownTimeoutMs`',
    );
    expect(() => resolveOptions({ redis, connectTimeoutMs: 0 })).toThrow(
      'option `connectTimeoutMs`',
    );
    expect(resolveOptions({ redis }).connectTimeoutMs).toBe(10_000);
  });

  it('refuses defaultPolicy.timeoutMs beyond a timer’s range', () => {
    expect(() => resolveOptions({ redis, defaultPolicy: { timeoutMs: 2 ** 31 } })).toThrow(
      /defaultPolicy`\.timeoutMs.*2147483647/,
    );
  });

  it('leaves options that are only compared with times unbounded', () => {
    const resolved = resolveOptions({
      redis,
      defaultJitterMs: 2 ** 40,
      lookAheadMs: 2 ** 40, // capped at leaseMs / 4 anyway
      tenantGuards: { minIntervalMs: 2 ** 40 },
      defaultPolicy: { catchUpWindowMs: 2 ** 40, retry: { delayMs: 2 ** 40 } },
    });
    expect(resolved.defaultJitterMs).toBe(2 ** 40);
    expect(resolved.lookAheadMs).toBe(resolved.leaseMs / 4);
    expect(resolved.defaultPolicy.catchUpWindowMs).toBe(2 ** 40);
  });
});

describe('resolveOptions: keepFinishedMs', () => {
  it('keeps a finished one-off 24 h by default, at least 1 ms, and refuses anything else', () => {
    expect(resolveOptions({ redis }).keepFinishedMs).toBe(86_400_000);
    expect(resolveOptions({ redis, keepFinishedMs: 1 }).keepFinishedMs).toBe(1);
    expect(() => resolveOptions({ redis, keepFinishedMs: 0 })).toThrow('option `keepFinishedMs`');
    expect(() => resolveOptions({ redis, keepFinishedMs: 1.5 })).toThrow(InvalidOptionsError);
  });
});

describe('resolveOptions: store and reconcileIntervalMs (issue 12)', () => {
  const store = {
    init: async () => undefined,
    close: async () => undefined,
    write: async () => undefined,
    get: async () => null,
    changedSince: async () => [],
    page: async () => [],
    lockTenants: async () => undefined,
    writeTenant: async () => undefined,
    pausedTenants: async () => [],
  };

  it('has no store and a 10 s reconcile interval by default', () => {
    expect(resolveOptions({ redis: 'redis://x' })).toMatchObject({
      store: undefined,
      reconcileIntervalMs: 10_000,
    });
  });

  it('keeps a store that implements ScheduleStore', () => {
    const resolved = resolveOptions({ redis: 'redis://x', store: store as never });
    expect(resolved.store).toBe(store);
  });

  it('refuses a store missing methods, naming them', () => {
    const { page: _page, lockTenants: _lock, ...partial } = store;
    expect(() => resolveOptions({ redis: 'redis://x', store: partial as never })).toThrow(
      /missing: page, lockTenants/,
    );
    expect(() => resolveOptions({ redis: 'redis://x', store: 'pg' as never })).toThrow(
      InvalidOptionsError,
    );
  });

  it('refuses a reconcile interval under 100 ms', () => {
    expect(() => resolveOptions({ redis: 'redis://x', reconcileIntervalMs: 50 })).toThrow(
      /reconcileIntervalMs/,
    );
  });
});
