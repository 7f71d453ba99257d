import { withTimeLimit } from '../../../lib/time/time-limit';

describe('withTimeLimit', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('says done, the error, or timeout, and leaves no timer behind', async () => {
    await expect(withTimeLimit(Promise.resolve(1), 1_000)).resolves.toBe('done');
    const failed = await withTimeLimit(Promise.reject(new Error('no')), 1_000);
    expect(failed).toBeInstanceOf(Error);
    expect((failed as Error).message).toBe('no');
    expect(jest.getTimerCount()).toBe(0);
    const hanging = withTimeLimit(new Promise(() => undefined), 1_000);
    await jest.advanceTimersByTimeAsync(999);
    jest.advanceTimersByTime(1);
    await expect(hanging).resolves.toBe('timeout');
    expect(jest.getTimerCount()).toBe(0);
  });
});
