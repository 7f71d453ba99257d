import type { RegisteredHandler } from '../discovery/handler.registry';
import { performance } from 'node:perf_hooks';
import type { InstrumentedRun, RunInstrumentation } from '../events/run-instrumentation';
import type { ScheduleContext } from '../interfaces/schedule-context.interface';
import { NonRetryableError } from '../errors/non-retryable.error';
import { RunTimeoutError } from '../errors/run-timeout.error';
import { timerDelay } from '../time/timer-delay';
import { carriedResult } from './run-result';
import type { RunAbort } from './run-abort';

export interface RunOutcome {
  status: 'succeeded' | 'failed';
  error: string;
  /** The stack of what the handler threw; logged by the RunRecorder once it knows whether a retry follows. */
  stack?: string;
  /** The handler threw a NonRetryableError: no retry, whatever attempts are left. */
  final?: true;
  /**
   * What a succeeded handler returned, or the `result` a failed handler's error carried
   * (RunResultCarrier); undefined when none.
   */
  result?: unknown;
}

/** What one handler invocation needs. */
export interface RunSpec {
  handler: RegisteredHandler;
  payloadJson: string;
  scheduleId: string;
  tenantId: string | undefined;
  fireMs: number;
  dueMs: number;
  attempt: number;
  fencingToken: number;
  /** The record id of a triggered run ('n<number>'), undefined for a run of the series. */
  trigger: string | undefined;
  /** 0 = no timeout. */
  timeoutMs: number;
  abort: RunAbort;
}

/** Longest error message kept of a failed run (last error, dead letter, run history). */
export const MAX_ERROR_LENGTH = 500;
const SUCCEEDED: RunOutcome = { status: 'succeeded', error: '' };

/**
 * A handler's ScheduleContext. Its signal and idempotencyKey are getters on the prototype, so
 * that a run whose handler never reads them creates no AbortController and no string (and no
 * closure per run either).
 */
class RunContext implements ScheduleContext {
  readonly scheduleId: string;
  declare tenantId?: string;
  readonly fireTime: Date;
  readonly dueTime: Date;
  readonly attempt: number;
  readonly fencingToken: number;
  readonly trigger: boolean;
  readonly #abort: RunAbort;
  readonly #fireMs: number;
  readonly #triggerId: string | undefined;

  constructor(spec: RunSpec) {
    this.scheduleId = spec.scheduleId;
    if (spec.tenantId !== undefined) this.tenantId = spec.tenantId;
    this.fireTime = new Date(spec.fireMs);
    this.dueTime = new Date(spec.dueMs);
    this.attempt = spec.attempt;
    this.fencingToken = spec.fencingToken;
    this.trigger = spec.trigger !== undefined;
    this.#abort = spec.abort;
    this.#fireMs = spec.fireMs;
    this.#triggerId = spec.trigger;
  }

  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /**
   * Identifiers cannot contain ':' (validateIdentifier), so the two forms cannot collide; a
   * triggered run's key ends in ':<trigger id>', so it never meets a fire time of the series.
   */
  get idempotencyKey(): string {
    const key =
      this.tenantId === undefined
        ? `c:${this.scheduleId}@${this.#fireMs}`
        : `t:${this.tenantId}:${this.scheduleId}@${this.#fireMs}`;
    return this.#triggerId === undefined ? key : `${key}:${this.#triggerId}`;
  }
}

/**
 * The one place that invokes handlers and catches what they throw. A run ends when its handler
 * settles or its abort fires (lease lost, timeout, shutdown), whichever comes first: a handler
 * that ignores its signal cannot hold a timed-out or lost run open.
 */
export class RunExecutor {
  /** `instrumentation`: hooks wrapped around each handler invocation (tracing, metrics). */
  constructor(private readonly instrumentation?: Pick<RunInstrumentation, 'wrap' | 'observers'>) {}

  run(spec: RunSpec): Promise<RunOutcome> {
    const { abort } = spec;
    const ctx = new RunContext(spec);
    return new Promise<RunOutcome>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      let settled = false;
      const settle = (outcome: RunOutcome): void => {
        if (settled) return;
        settled = true;
        if (timer) clearTimeout(timer);
        resolve(outcome);
      };
      abort.onAbort((reason) =>
        settle({ status: 'failed', error: String((reason as Error)?.message ?? reason) }),
      );
      if (spec.timeoutMs > 0) {
        timer = setTimeout(
          () => abort.abort(new RunTimeoutError(spec.scheduleId, spec.timeoutMs)),
          // Bounded at validation; a value stored before that must not fire after 1 ms.
          timerDelay(spec.timeoutMs),
        );
      }
      this.invoke(spec, ctx, settle);
    });
  }

  /**
   * Calls the handler (through the hooks, told to the observers) and settles the run with its
   * outcome: one `then` on what the handler returned, no async function or await of its own (each
   * promise costs more once an AsyncLocalStorage context manager has enabled promise hooks).
   */
  private invoke(spec: RunSpec, ctx: ScheduleContext, settle: (outcome: RunOutcome) => void): void {
    const instrumentation = this.instrumentation;
    const run =
      instrumentation?.wrap === undefined && instrumentation?.observers === undefined
        ? undefined
        : describeRun(spec, ctx);
    const observers = run && instrumentation?.observers;
    if (observers) for (const o of observers) o.started(run);
    let pending: unknown;
    try {
      const payload =
        spec.payloadJson === '' ? undefined : (JSON.parse(spec.payloadJson) as unknown);
      const wrap = instrumentation?.wrap;
      pending =
        run === undefined || wrap === undefined
          ? spec.handler.invoke(payload, ctx)
          : wrap(run, () => promised(spec.handler, payload, ctx));
    } catch (error) {
      if (observers) for (const o of observers) o.ended(run, error, true);
      settle(failedOutcome(error));
      return;
    }
    // A native promise as is; a value or another thenable made one.
    (pending instanceof Promise ? pending : Promise.resolve(pending)).then(
      (result: unknown) => {
        if (observers) for (const o of observers) o.ended(run, undefined, false);
        settle(result === undefined ? SUCCEEDED : { status: 'succeeded', error: '', result });
      },
      (error: unknown) => {
        if (observers) for (const o of observers) o.ended(run, error, true);
        settle(failedOutcome(error));
      },
    );
  }
}

/** The outcome of a handler that threw `error`. */
function failedOutcome(error: unknown): RunOutcome {
  const err = error instanceof Error ? error : new Error(String(error));
  const outcome: RunOutcome = {
    status: 'failed',
    error: err.message.slice(0, MAX_ERROR_LENGTH),
    stack: err.stack,
  };
  if (err instanceof NonRetryableError) outcome.final = true;
  const carried = carriedResult(error);
  if (carried !== undefined) outcome.result = carried;
  return outcome;
}

/**
 * A hook's `invoke()`: the handler's promise itself (no async wrapper: one promise and two
 * microtasks less per run), or what it returned or threw as a promise.
 */
function promised(
  handler: RegisteredHandler,
  payload: unknown,
  ctx: ScheduleContext,
): Promise<unknown> {
  try {
    const result = handler.invoke(payload, ctx);
    return result instanceof Promise ? result : Promise.resolve(result);
  } catch (error) {
    return Promise.reject(error as Error);
  }
}

function describeRun(spec: RunSpec, context: ScheduleContext): InstrumentedRun {
  const { name, kind } = spec.handler;
  return { handler: name, kind, context, startedAt: performance.now(), scope: undefined };
}
