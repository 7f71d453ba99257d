import { Logger } from '@nestjs/common';
import {
  LockLostError,
  NonRetryableError,
  RunTimeoutError,
  type ScheduleContext,
} from '../../../lib';
import type { RegisteredHandler } from '../../../lib/discovery/handler.registry';
import { RunAbort } from '../../../lib/engine/run-abort';
import { RunExecutor, type RunOutcome, type RunSpec } from '../../../lib/engine/run-executor';

const FIRE_MS = Date.UTC(2030, 0, 2, 3, 4, 0);

function spec(
  invoke: RegisteredHandler['invoke'],
  over: Partial<Omit<RunSpec, 'handler'>> = {},
): RunSpec {
  return {
    handler: { key: 'h:job', name: 'job', kind: 'dynamic', source: 'Jobs.run', invoke },
    payloadJson: '',
    scheduleId: 'acme:job',
    tenantId: 'acme',
    fireMs: FIRE_MS,
    dueMs: FIRE_MS + 1_500,
    attempt: 2,
    fencingToken: 41,
    trigger: undefined,
    timeoutMs: 0,
    abort: new RunAbort(),
    ...over,
  };
}

const after = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const never = (): Promise<void> => new Promise<void>(() => undefined);
const advance = (ms: number): Promise<void> => jest.advanceTimersByTimeAsync(ms);

/** Whether `promise` has settled, without waiting for it. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(() => (done = true));
  await advance(0);
  return done;
}

let logError: jest.SpyInstance;

beforeEach(() => {
  jest.useFakeTimers({ now: 1_000_000 });
  logError = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
});

afterEach(() => {
  jest.useRealTimers();
  jest.restoreAllMocks();
});

describe('RunExecutor: outcomes', () => {
  it('a handler that resolves succeeds, logs nothing and leaves no timer', async () => {
    const run = spec(() => after(100), { timeoutMs: 5_000 });
    const outcome = new RunExecutor().run(run);
    await advance(99);
    expect(await settled(outcome)).toBe(false);
    await advance(1);
    expect(await outcome).toEqual({ status: 'succeeded', error: '' });
    expect(jest.getTimerCount()).toBe(0);
    expect(run.abort.aborted).toBe(false);
    expect(logError).not.toHaveBeenCalled();
  });

  it('a synchronous handler that returns succeeds, with what it returned as the result', async () => {
    await expect(new RunExecutor().run(spec(() => 42))).resolves.toEqual({
      status: 'succeeded',
      error: '',
      result: 42,
    });
  });

  it('a handler that throws fails with its message and stack, and logs nothing (the recorder does)', async () => {
    const error = new Error('disk full');
    const outcome = await new RunExecutor().run(
      spec(() => {
        throw error;
      }),
    );
    expect(outcome).toEqual({ status: 'failed', error: 'disk full', stack: error.stack });
    expect(logError).not.toHaveBeenCalled();
  });

  it('a handler that rejects fails with its message', async () => {
    const outcome = new RunExecutor().run(
      spec(async () => {
        await after(10);
        throw new TypeError('bad row');
      }),
    );
    await advance(10);
    expect(await outcome).toMatchObject({ status: 'failed', error: 'bad row' });
    expect(logError).not.toHaveBeenCalled();
  });

  it.each([
    ['a string', 'boom', 'boom'],
    ['a number', 7, '7'],
    ['undefined', undefined, 'undefined'],
    ['an object', { code: 1 }, '[object Object]'],
  ])('a handler that throws %s (not an Error) fails with it as text', async (_, thrown, text) => {
    const outcome = await new RunExecutor().run(
      spec(() => {
        throw thrown;
      }),
    );
    expect(outcome).toMatchObject({ status: 'failed', error: text });
  });

  it('keeps at most 500 characters of the error', async () => {
    const outcome = await new RunExecutor().run(
      spec(() => {
        throw new Error('x'.repeat(2_000));
      }),
    );
    expect(outcome).toMatchObject({ status: 'failed', error: 'x'.repeat(500) });
  });

  it('a NonRetryableError marks the failure final; any other error does not', async () => {
    const final = await new RunExecutor().run(
      spec(() => {
        throw new NonRetryableError('HTTP 400 from the target');
      }),
    );
    expect(final).toMatchObject({
      status: 'failed',
      error: 'HTTP 400 from the target',
      final: true,
    });
    const retryable = await new RunExecutor().run(
      spec(() => {
        throw new Error('HTTP 503 from the target');
      }),
    );
    expect(retryable.final).toBeUndefined();
  });

  it('keeps what a handler returned as the result; nothing when it returned nothing', async () => {
    const withResult = await new RunExecutor().run(
      spec(async () => ({ status: 204, durationMs: 12 })),
    );
    expect(withResult).toEqual({
      status: 'succeeded',
      error: '',
      result: { status: 204, durationMs: 12 },
    });
    expect(await new RunExecutor().run(spec(async () => undefined))).toEqual({
      status: 'succeeded',
      error: '',
    });
  });

  it('keeps the result a failed handler’s error carries (RunResultCarrier); none otherwise', async () => {
    const throwing = (error: unknown) =>
      new RunExecutor().run(
        spec(() => {
          throw error;
        }),
      );
    const final = await throwing(
      new NonRetryableError('HTTP 404', { result: { status: 404, durationMs: 3 } }),
    );
    expect(final).toMatchObject({ final: true, result: { status: 404, durationMs: 3 } });
    const own = Object.assign(new Error('HTTP 503'), { result: { status: 503 } });
    expect(await throwing(own)).toMatchObject({ status: 'failed', result: { status: 503 } });
    expect(await throwing(new Error('plain'))).not.toHaveProperty('result');
    expect(await throwing('a string')).not.toHaveProperty('result');
    // A getter that throws carries nothing and does not change the outcome.
    const trap = Object.defineProperty(new Error('trap'), 'result', {
      get: () => {
        throw new Error('no');
      },
    });
    expect(await throwing(trap)).toMatchObject({ status: 'failed', error: 'trap' });
    expect(await throwing(trap)).not.toHaveProperty('result');
  });
});

describe('RunExecutor: timeout', () => {
  it('aborts with RunTimeoutError after exactly timeoutMs, even if the handler ignores its signal', async () => {
    const run = spec(never, { timeoutMs: 2_000 });
    const outcome = new RunExecutor().run(run);
    await advance(1_999);
    expect(await settled(outcome)).toBe(false);
    expect(run.abort.aborted).toBe(false);
    await advance(1);
    const timeout = new RunTimeoutError('acme:job', 2_000);
    expect(await outcome).toEqual({ status: 'failed', error: timeout.message });
    expect(run.abort.reason).toBeInstanceOf(RunTimeoutError);
  });

  it('aborts the signal the handler reads, with the RunTimeoutError', async () => {
    let signal: AbortSignal | undefined;
    const run = spec(
      (_payload, ctx) => {
        signal = ctx.signal;
        return never();
      },
      { timeoutMs: 50 },
    );
    const outcome = new RunExecutor().run(run);
    await advance(50);
    await outcome;
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toBeInstanceOf(RunTimeoutError);
  });

  it('timeoutMs 0 sets no timer', async () => {
    const run = spec(() => after(60_000));
    const outcome = new RunExecutor().run(run);
    expect(jest.getTimerCount()).toBe(1); // the handler's own
    await advance(60_000);
    expect(await outcome).toEqual({ status: 'succeeded', error: '' });
    expect(run.abort.aborted).toBe(false);
  });

  it('a timeoutMs beyond a timer’s range (stored before it was refused) does not fire after 1 ms', async () => {
    // setTimeout(fn, 2 ** 31) fires after 1 ms: every such run failed about 6 ms after it was due.
    const run = spec(() => after(50), { timeoutMs: 2 ** 31 });
    const outcome = new RunExecutor().run(run);
    await advance(50);
    expect(await outcome).toEqual({ status: 'succeeded', error: '' });
    expect(run.abort.aborted).toBe(false);
  });
});

describe('RunExecutor: abort (lease lost, shutdown)', () => {
  it('settles the run at once when its abort fires, though the handler ignores its signal', async () => {
    const run = spec(never, { timeoutMs: 30_000 });
    const outcome = new RunExecutor().run(run);
    await advance(10);
    const lost = new LockLostError('acme:job', 'taken over or removed');
    run.abort.abort(lost);
    expect(await settled(outcome)).toBe(true);
    expect(await outcome).toEqual({ status: 'failed', error: lost.message });
    expect(jest.getTimerCount()).toBe(0); // the timeout timer is cleared
    expect(logError).not.toHaveBeenCalled();
  });

  it('the first of abort and the handler’s end decides the outcome', async () => {
    let finish: () => void = () => undefined;
    const run = spec(() => new Promise<void>((resolve) => (finish = resolve)));
    const outcome = new RunExecutor().run(run);
    await advance(0);
    run.abort.abort(new Error('shutting down'));
    finish();
    expect(await outcome).toEqual({ status: 'failed', error: 'shutting down' });

    const run2 = spec(() => undefined);
    const outcome2: RunOutcome = await new RunExecutor().run(run2);
    run2.abort.abort(new Error('too late'));
    expect(outcome2).toEqual({ status: 'succeeded', error: '' });
  });

  it('an abort reason that is not an Error becomes text', async () => {
    const run = spec(never);
    const outcome = new RunExecutor().run(run);
    run.abort.abort('pod stopping');
    expect(await outcome).toEqual({ status: 'failed', error: 'pod stopping' });
  });
});

describe('RunExecutor: payload and context', () => {
  it.each([
    ['', undefined],
    ['{"a":[1,2],"b":{"c":null}}', { a: [1, 2], b: { c: null } }],
    ['"text"', 'text'],
    ['null', null],
    ['0', 0],
  ])('payload %j reaches the handler as %j', async (payloadJson, payload) => {
    const invoke = jest.fn();
    await new RunExecutor().run(spec(invoke, { payloadJson }));
    expect(invoke).toHaveBeenCalledTimes(1);
    expect(invoke.mock.calls[0][0]).toEqual(payload);
  });

  it('a payload that is not JSON fails the run without calling the handler', async () => {
    const invoke = jest.fn();
    const outcome = await new RunExecutor().run(spec(invoke, { payloadJson: '{"a":' }));
    expect(invoke).not.toHaveBeenCalled();
    expect(outcome.status).toBe('failed');
    expect(outcome.error).toMatch(/JSON/);
  });

  it('the context carries the run: ids, fire and due time, attempt, fencing token', async () => {
    let ctx: ScheduleContext | undefined;
    await new RunExecutor().run(spec((_payload, c) => void (ctx = c)));
    expect(ctx).toMatchObject({
      scheduleId: 'acme:job',
      tenantId: 'acme',
      fireTime: new Date(FIRE_MS),
      dueTime: new Date(FIRE_MS + 1_500),
      attempt: 2,
      fencingToken: 41,
    });
    expect(ctx?.fireTime).toBeInstanceOf(Date);
  });

  it('a static schedule’s context has no tenantId at all', async () => {
    let ctx: ScheduleContext | undefined;
    await new RunExecutor().run(spec((_payload, c) => void (ctx = c), { tenantId: undefined }));
    expect(ctx).toBeDefined();
    expect(ctx !== undefined && 'tenantId' in ctx).toBe(false);
    expect(Object.keys(ctx ?? {})).not.toContain('tenantId');
  });
});

describe('RunExecutor: the idempotency key', () => {
  async function keyOf(over: Partial<Omit<RunSpec, 'handler'>>): Promise<string | undefined> {
    let ctx: ScheduleContext | undefined;
    await new RunExecutor().run(spec((_payload, c) => void (ctx = c), over));
    return ctx?.idempotencyKey;
  }

  it('names the tenant, the schedule and the fire time of a dynamic run', async () => {
    await expect(keyOf({ tenantId: 'acme', scheduleId: 'job' })).resolves.toBe(
      `t:acme:job@${FIRE_MS}`,
    );
  });

  it('names the static schedule and the fire time of a static run', async () => {
    await expect(keyOf({ tenantId: undefined, scheduleId: 'cleanup' })).resolves.toBe(
      `c:cleanup@${FIRE_MS}`,
    );
  });

  it('is the same for every attempt, fencing token and due time of a fire time', async () => {
    const first = await keyOf({ scheduleId: 'job', attempt: 1, fencingToken: 7 });
    const retry = await keyOf({
      scheduleId: 'job',
      attempt: 3,
      fencingToken: 9,
      dueMs: FIRE_MS + 60_000,
    });
    expect(retry).toBe(first);
  });

  it('differs between tenants with the same id, fire times, and a static of the same name', async () => {
    const keys = await Promise.all([
      keyOf({ tenantId: 'acme', scheduleId: 'job' }),
      keyOf({ tenantId: 'globex', scheduleId: 'job' }),
      keyOf({ tenantId: 'acme', scheduleId: 'job', fireMs: FIRE_MS + 1_000 }),
      keyOf({ tenantId: undefined, scheduleId: 'job' }),
    ]);
    expect(new Set(keys).size).toBe(4);
  });

  it('is a getter: a context whose key is never read holds no string for it', async () => {
    let ctx: ScheduleContext | undefined;
    await new RunExecutor().run(spec((_payload, c) => void (ctx = c)));
    expect(Object.keys(ctx ?? {})).not.toContain('idempotencyKey');
    expect(ctx?.idempotencyKey).toBe(`t:acme:acme:job@${FIRE_MS}`);
  });
});

describe('RunExecutor: the signal is created only when read', () => {
  const Real = globalThis.AbortController;
  let created = 0;

  beforeEach(() => {
    created = 0;
    globalThis.AbortController = class extends Real {
      constructor() {
        super();
        created++;
      }
    };
  });

  afterEach(() => {
    globalThis.AbortController = Real;
  });

  it('a handler that never reads ctx.signal costs no AbortController, even when aborted', async () => {
    let ctx: ScheduleContext | undefined;
    await new RunExecutor().run(spec((_payload, c) => void (ctx = c)));
    expect(created).toBe(0);
    expect(Object.keys(ctx ?? {})).not.toContain('signal');

    const run = spec(never);
    const outcome = new RunExecutor().run(run);
    run.abort.abort(new Error('lost'));
    await outcome;
    expect(created).toBe(0);
  });

  it('reading it creates one signal, the same on every read, aborted with the run', async () => {
    const signals: AbortSignal[] = [];
    const run = spec((_payload, ctx) => {
      signals.push(ctx.signal, ctx.signal);
      return never();
    });
    const outcome = new RunExecutor().run(run);
    await advance(0);
    expect(created).toBe(1);
    expect(signals[0]).toBe(signals[1]);
    expect(signals[0].aborted).toBe(false);
    const lost = new LockLostError('acme:job');
    run.abort.abort(lost);
    await outcome;
    expect(signals[0].aborted).toBe(true);
    expect(signals[0].reason).toBe(lost);
  });

  it('read after the abort, the signal is already aborted with the reason', async () => {
    let ctx: ScheduleContext | undefined;
    let finish: () => void = () => undefined;
    const run = spec((_payload, c) => {
      ctx = c;
      return new Promise<void>((resolve) => (finish = resolve));
    });
    const outcome = new RunExecutor().run(run);
    await advance(0);
    const reason = new Error('shutdown');
    run.abort.abort(reason);
    await outcome;
    expect(ctx?.signal.aborted).toBe(true);
    expect(ctx?.signal.reason).toBe(reason);
    finish();
  });
});
