import { InvalidOptionsError } from '../../../lib';
import { assertTimerMs, MAX_TIMER_MS, timerDelay } from '../../../lib/time/timer-delay';

describe('timerDelay', () => {
  it('rounds up and never goes below 0', () => {
    expect(timerDelay(0.2)).toBe(1);
    expect(timerDelay(-50)).toBe(0);
  });

  it('caps a delay setTimeout would overflow on (a yearly cron is 3.15e10 ms away)', () => {
    expect(timerDelay(31_536_000_000)).toBe(MAX_TIMER_MS);
    expect(timerDelay(31_536_000_000, 2_000)).toBe(2_000);
    expect(timerDelay(1_500, 2_000)).toBe(1_500);
  });

  it('gives a delay that really waits: setTimeout keeps it', async () => {
    const started = Date.now();
    await new Promise((resolve) => setTimeout(resolve, timerDelay(31_536_000_000, 200)));
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
  });
});

describe('assertTimerMs', () => {
  it('accepts integers from min to 2^31 - 1', () => {
    expect(() => assertTimerMs('option `x`', 0, 0)).not.toThrow();
    expect(() => assertTimerMs('option `x`', MAX_TIMER_MS, 1)).not.toThrow();
  });

  it.each([2 ** 31, 2 ** 33, -1, 1.5, Number.NaN, Infinity, '100', undefined])(
    'refuses %p with InvalidOptionsError naming the option and the bound',
    (value) => {
      expect(() => assertTimerMs('option `x`', value, 0)).toThrow(InvalidOptionsError);
      expect(() => assertTimerMs('option `x`', value, 0)).toThrow(
        /option `x`.*from 0 to 2147483647 ms/,
      );
    },
  );
});
