import { sleep, waitFor } from '../../support/wait-for';

describe('waitFor', () => {
  it('returns the first truthy value, retrying falsy values and errors', async () => {
    let calls = 0;
    const value = await waitFor(
      () => {
        calls++;
        if (calls === 1) throw new Error('not yet');
        return calls >= 3 ? { calls } : 0;
      },
      { intervalMs: 1 },
    );
    expect(value).toEqual({ calls: 3 });
  });

  it('awaits async functions', async () => {
    const deadline = Date.now() + 30;
    await expect(waitFor(async () => Date.now() >= deadline && 'done')).resolves.toBe('done');
  });

  it('times out naming the message and the last value', async () => {
    await expect(
      waitFor(() => ({ ready: false }).ready, {
        timeoutMs: 50,
        intervalMs: 5,
        message: 'the flag',
      }),
    ).rejects.toThrow(/timed out after 50 ms .*: the flag; last value: false/);
  });

  it('times out with the last error as cause', async () => {
    const error = await waitFor(
      () => {
        throw new Error('still down');
      },
      { timeoutMs: 30, intervalMs: 5 },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/last error: Error: still down/);
    expect((error as Error).cause).toEqual(new Error('still down'));
  });

  it('cuts off an attempt that never settles at the deadline', async () => {
    const started = Date.now();
    await expect(
      waitFor(() => new Promise<boolean>(() => undefined), { timeoutMs: 50 }),
    ).rejects.toThrow(/did not settle/);
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});

describe('sleep', () => {
  it('lets at least the given time pass', async () => {
    const started = performance.now();
    await sleep(20);
    expect(performance.now() - started).toBeGreaterThanOrEqual(19);
  });
});
