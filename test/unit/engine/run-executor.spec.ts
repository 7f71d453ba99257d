import { RunTimeoutError } from '../../../lib';
import type { RegisteredHandler } from '../../../lib/discovery/handler.registry';
import { RunAbort } from '../../../lib/engine/run-abort';
import { RunExecutor, type RunSpec } from '../../../lib/engine/run-executor';

function spec(timeoutMs: number, invoke: RegisteredHandler['invoke']): RunSpec {
  return {
    handler: { key: 'h:job', name: 'job', kind: 'dynamic', source: 'Jobs.run', invoke },
    payloadJson: '',
    scheduleId: 'acme:job',
    tenantId: 'acme',
    fireMs: 0,
    dueMs: 0,
    attempt: 1,
    fencingToken: 1,
    timeoutMs,
    abort: new RunAbort(),
  };
}

const after = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('RunExecutor timeout timer', () => {
  it('aborts with RunTimeoutError after timeoutMs', async () => {
    const run = spec(20, () => after(2_000));
    const outcome = await new RunExecutor().run(run);
    expect(outcome.status).toBe('failed');
    expect(run.abort.reason).toBeInstanceOf(RunTimeoutError);
  });

  it('a timeoutMs beyond a timer’s range (stored before it was refused) does not fire after 1 ms', async () => {
    // setTimeout(fn, 2 ** 31) fires after 1 ms: every such run failed about 6 ms after it was due.
    const run = spec(2 ** 31, () => after(50));
    const outcome = await new RunExecutor().run(run);
    expect(outcome).toEqual({ status: 'succeeded', error: '' });
    expect(run.abort.aborted).toBe(false);
  });
});
