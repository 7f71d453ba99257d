import { RunInstrumentation, SchedulerEvents, type ScheduleContext } from '../../../lib';
import type { RegisteredHandler } from '../../../lib/discovery/handler.registry';
import { RunAbort } from '../../../lib/engine/run-abort';
import { RunExecutor, type RunSpec } from '../../../lib/engine/run-executor';

const FIRE_MS = Date.UTC(2030, 0, 2, 3, 4, 0);

function spec(invoke: RegisteredHandler['invoke']): RunSpec {
  return {
    handler: { key: 'c:nightly', name: 'nightly', kind: 'static', source: 'Jobs.run', invoke },
    payloadJson: '',
    scheduleId: 'nightly',
    tenantId: undefined,
    fireMs: FIRE_MS,
    dueMs: FIRE_MS,
    attempt: 1,
    fencingToken: 7,
    timeoutMs: 0,
    trigger: undefined,
    abort: new RunAbort(),
  };
}

describe('RunInstrumentation', () => {
  it('has no wrap until a hook is registered, and none again once it is removed', () => {
    const instrumentation = new RunInstrumentation();
    expect(instrumentation.wrap).toBeUndefined();
    const remove = instrumentation.use((_, invoke) => invoke());
    expect(instrumentation.wrap).toBeInstanceOf(Function);
    remove();
    expect(instrumentation.wrap).toBeUndefined();
  });

  it('runs the hooks around the handler, the first registered outermost', async () => {
    const instrumentation = new RunInstrumentation();
    const order: string[] = [];
    for (const name of ['outer', 'inner']) {
      instrumentation.use(async (run, invoke) => {
        order.push(`${name}:${run.handler}:${run.kind}:${run.context.fencingToken}`);
        const result = await invoke();
        order.push(`/${name}`);
        return result;
      });
    }
    const outcome = await new RunExecutor(instrumentation).run(
      spec(() => void order.push('handler')),
    );
    expect(outcome.status).toBe('succeeded');
    expect(order).toEqual([
      'outer:nightly:static:7',
      'inner:nightly:static:7',
      'handler',
      '/inner',
      '/outer',
    ]);
  });

  it('lets the handler fail through a hook: the run fails with the handler error', async () => {
    const instrumentation = new RunInstrumentation();
    const seen: unknown[] = [];
    instrumentation.use(async (_, invoke) => {
      try {
        return await invoke();
      } catch (error) {
        seen.push(error);
        throw error;
      }
    });
    const outcome = await new RunExecutor(instrumentation).run(
      spec(() => {
        throw new Error('disk full');
      }),
    );
    expect(outcome).toMatchObject({ status: 'failed', error: 'disk full' });
    expect((seen[0] as Error).message).toBe('disk full');
  });

  it('gives a hook an invoke() that returns a promise, whatever the handler returns or throws', async () => {
    const instrumentation = new RunInstrumentation();
    const returned: unknown[] = [];
    instrumentation.use((_, invoke) => {
      const pending = invoke();
      returned.push(pending);
      return pending;
    });
    const executor = new RunExecutor(instrumentation);
    const thenable = { then: (resolve: (v: unknown) => void) => resolve('from a thenable') };
    const outcomes = [
      await executor.run(spec(() => 'sync value')),
      await executor.run(spec(() => thenable)),
      await executor.run(
        spec(() => {
          throw new Error('sync throw');
        }),
      ),
    ];
    expect(returned.every((p) => p instanceof Promise)).toBe(true);
    expect(outcomes[0]).toMatchObject({ status: 'succeeded', result: 'sync value' });
    expect(outcomes[1]).toMatchObject({ status: 'succeeded', result: 'from a thenable' });
    expect(outcomes[2]).toMatchObject({ status: 'failed', error: 'sync throw' });
  });

  it('gives the hook the context the handler gets', async () => {
    const instrumentation = new RunInstrumentation();
    let hooked: ScheduleContext | undefined;
    let given: ScheduleContext | undefined;
    instrumentation.use((run, invoke) => {
      hooked = run.context;
      return invoke();
    });
    await new RunExecutor(instrumentation).run(spec((_, ctx) => void (given = ctx)));
    expect(hooked).toBe(given);
    expect(hooked?.fireTime.getTime()).toBe(FIRE_MS);
  });
});

describe('RunInstrumentation observers', () => {
  it('are told of the start and the end of each run, with what the handler threw', async () => {
    const instrumentation = new RunInstrumentation();
    const seen: string[] = [];
    const remove = instrumentation.observe({
      started: (run) => seen.push(`started ${run.handler} ${typeof run.startedAt}`),
      ended: (run, error) => seen.push(`ended ${run.context.fencingToken} ${String(error)}`),
    });
    const executor = new RunExecutor(instrumentation);
    await executor.run(spec(() => void seen.push('handler')));
    const failed = new Error('boom');
    await executor.run(
      spec(() => {
        throw failed;
      }),
    );
    remove();
    expect(instrumentation.observers).toBeUndefined();
    await executor.run(spec(() => void seen.push('unobserved')));
    expect(seen).toEqual([
      'started nightly number',
      'handler',
      'ended 7 undefined',
      'started nightly number',
      'ended 7 Error: boom',
      'unobserved',
    ]);
  });
});

describe('SchedulerEvents.onAny', () => {
  it('receives every event with its name, makes wants() true, and stops when removed', () => {
    const events = new SchedulerEvents();
    expect(events.wants('lease.lost')).toBe(false);
    const seen: string[] = [];
    const off = events.onAny((event, payload) => seen.push(`${event}:${JSON.stringify(payload)}`));
    expect(events.wants('lease.lost')).toBe(true);
    events.emit('lease.lost', { scheduleId: 's', fencingToken: 3, reason: 'lease expired' });
    events.emit('redis.error', { operation: 'claim', error: 'down' });
    off();
    events.emit('redis.error', { operation: 'claim', error: 'again' });
    expect(seen).toEqual([
      'lease.lost:{"scheduleId":"s","fencingToken":3,"reason":"lease expired"}',
      'redis.error:{"operation":"claim","error":"down"}',
    ]);
    expect(events.wants('lease.lost')).toBe(false);
  });

  it('ignores a throwing listener', () => {
    const events = new SchedulerEvents();
    const seen: string[] = [];
    events.onAny(() => {
      throw new Error('bad listener');
    });
    events.on('redis.error', (p) => seen.push(p.error));
    expect(() => events.emit('redis.error', { operation: 'renew', error: 'x' })).not.toThrow();
    expect(seen).toEqual(['x']);
  });
});

describe('RunInstrumentation observers with a hook: run.scope and failed', () => {
  it("share run.scope: set in started, seen by the hook and by ended, each run's own", async () => {
    const instrumentation = new RunInstrumentation();
    const seen: string[] = [];
    let next = 0;
    instrumentation.observe({
      started: (run) => {
        expect(run.scope).toBeUndefined();
        run.scope = `span-${++next}`;
      },
      ended: (run, _error, failed) => seen.push(`ended ${String(run.scope)} ${failed}`),
    });
    instrumentation.use((run, invoke) => {
      seen.push(`hook ${String(run.scope)}`);
      return invoke();
    });
    const executor = new RunExecutor(instrumentation);
    await executor.run(spec(() => void seen.push('handler')));
    await executor.run(spec(() => void seen.push('handler')));
    expect(seen).toEqual([
      'hook span-1',
      'handler',
      'ended span-1 false',
      'hook span-2',
      'handler',
      'ended span-2 false',
    ]);
  });

  it('tell ended that the handler failed even when what it threw is undefined', async () => {
    const instrumentation = new RunInstrumentation();
    const ended: Array<[unknown, boolean]> = [];
    instrumentation.observe({
      started: () => undefined,
      ended: (_run, error, failed) => ended.push([error, failed]),
    });
    const executor = new RunExecutor(instrumentation);
    const outcome = await executor.run(
      spec(() => {
        throw undefined;
      }),
    );
    await executor.run(spec(() => 'done'));
    expect(outcome.status).toBe('failed');
    expect(ended).toEqual([
      [undefined, true],
      [undefined, false],
    ]);
  });
});
