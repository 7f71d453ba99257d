import {
  decodePolicy,
  DEFAULT_POLICY,
  encodePolicy,
  resolvePolicy,
  retryDelayMs,
  validatePolicy,
} from '../../../lib/policy/schedule-policy';
import { InvalidOptionsError } from '../../../lib';

describe('schedule policy', () => {
  it('resolves own fields over defaults, field by field', () => {
    const defaults = resolvePolicy(
      { retry: { attempts: 3, delayMs: 500 }, overlap: 'bufferOne' },
      DEFAULT_POLICY,
    );
    const resolved = resolvePolicy({ retry: { delayMs: 50 }, misfire: 'skip' }, defaults);
    expect(resolved).toEqual({
      ...DEFAULT_POLICY,
      retry: { ...DEFAULT_POLICY.retry, attempts: 3, delayMs: 50 },
      misfire: 'skip',
      overlap: 'bufferOne',
    });
  });

  it('stores only the fields a schedule sets, and reads them back', () => {
    expect(encodePolicy({})).toBe('');
    expect(encodePolicy({ retry: {} })).toBe('');
    const json = encodePolicy({ retry: { attempts: 2, jitter: undefined }, timeoutMs: 500 });
    expect(JSON.parse(json)).toEqual({ retry: { attempts: 2 }, timeoutMs: 500 });
    expect(decodePolicy(json)).toEqual({ retry: { attempts: 2 }, timeoutMs: 500 });
    expect(decodePolicy('')).toBeUndefined();
  });

  it('computes fixed and capped exponential delays, with jitter within [delay/2, delay]', () => {
    const retry = {
      attempts: 5,
      backoff: 'exponential' as const,
      delayMs: 100,
      maxDelayMs: 350,
      jitter: false,
    };
    expect([1, 2, 3, 4].map((a) => retryDelayMs(retry, a))).toEqual([100, 200, 350, 350]);
    expect(retryDelayMs({ ...retry, backoff: 'fixed' }, 4)).toBe(100);
    expect(retryDelayMs({ ...retry, jitter: true }, 2, () => 0)).toBe(100);
    expect(retryDelayMs({ ...retry, jitter: true }, 2, () => 0.999)).toBe(200);
  });

  it.each([
    [{ retry: { attempts: 0 } }, /retry\.attempts/],
    [{ retry: { backoff: 'linear' } }, /retry\.backoff/],
    [{ retry: { delayMs: -1 } }, /retry\.delayMs/],
    [{ timeoutMs: 1.5 }, /timeoutMs/],
    [{ misfire: 'never' }, /misfire/],
    [{ overlap: 'queue' }, /overlap/],
    [{ maxCatchUp: 0 }, /maxCatchUp/],
    // Beyond 2^31 - 1 ms a Node.js timer fires after 1 ms: every run would time out at once.
    [{ timeoutMs: 2 ** 31 }, /timeoutMs: 2147483648 must be an integer from 0 to 2147483647 ms/],
  ])('rejects %j with InvalidOptionsError', (policy, message) => {
    expect(() => validatePolicy(policy as never, 'schedule')).toThrow(InvalidOptionsError);
    expect(() => validatePolicy(policy as never, 'schedule')).toThrow(message);
  });

  it('bounds only timeoutMs to a timer’s range: retry delays and catchUpWindowMs are compared with times, never waited for by a timer', () => {
    expect(() => validatePolicy({ timeoutMs: 2 ** 31 - 1 }, 'schedule')).not.toThrow();
    expect(() =>
      validatePolicy(
        { retry: { delayMs: 2 ** 40, maxDelayMs: 2 ** 40 }, catchUpWindowMs: 2 ** 40 },
        'schedule',
      ),
    ).not.toThrow();
  });
});
