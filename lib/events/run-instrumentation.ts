import { Injectable } from '@nestjs/common';
import type { ScheduleContext } from '../interfaces/schedule-context.interface';

/** What an instrumentation hook is told of a run whose handler is about to be invoked. */
export interface InstrumentedRun {
  /** The handler's name: a static schedule's name, or the `@ScheduleHandler` name of a dynamic one. */
  handler: string;
  kind: 'static' | 'dynamic';
  /** The context the handler gets (scheduleId, tenantId, fireTime, dueTime, attempt, fencingToken). */
  context: ScheduleContext;
  /** `performance.now()` just before the hooks and the handler were called. */
  startedAt: number;
  /**
   * Undefined until an observer's `started` sets it, for itself and the hooks of the same run (the
   * tracing integration keeps the run's span here, so that its hook and its `ended` need no
   * closure per run).
   */
  scope: unknown;
}

/**
 * Told of each handler invocation without wrapping it (cheaper than a RunHook: no promise, no
 * closure): `started` just before the hooks and the handler are called, `ended` once the handler
 * settled, with what it threw and `failed` true when it threw (error undefined and failed false
 * on success). Neither may throw.
 */
export interface RunObserver {
  started(run: InstrumentedRun): void;
  ended(run: InstrumentedRun, error: unknown, failed: boolean): void;
}

/**
 * Wraps one handler invocation: calls `invoke()` once, in the async context it wants the handler
 * to run in (a tracing span, for example), and returns or rethrows what `invoke()` settles with,
 * unchanged. A hook must not throw anything of its own: what it throws is the run's failure.
 */
export type RunHook = (run: InstrumentedRun, invoke: () => Promise<unknown>) => Promise<unknown>;

/**
 * The hooks and observers around every handler invocation of this app's scheduler (the tracing
 * integration registers a hook, the metrics one an observer). With none registered, `wrap` and
 * `observers` are undefined and the run executor calls the handler directly: no cost per run.
 */
@Injectable()
export class RunInstrumentation {
  /** The registered hooks composed, the first registered outermost; undefined without hooks. */
  wrap: RunHook | undefined;
  /** The registered observers; undefined without any. */
  observers: readonly RunObserver[] | undefined;
  private readonly hooks: RunHook[] = [];

  /** Registers an observer for every run from now on; returns the function that removes it. */
  observe(observer: RunObserver): () => void {
    this.observers = [...(this.observers ?? []), observer];
    return () => {
      const rest = (this.observers ?? []).filter((o) => o !== observer);
      this.observers = rest.length > 0 ? rest : undefined;
    };
  }

  /** Registers a hook for every run from now on; returns the function that removes it. */
  use(hook: RunHook): () => void {
    this.hooks.push(hook);
    this.compose();
    return () => {
      const at = this.hooks.indexOf(hook);
      if (at !== -1) this.hooks.splice(at, 1);
      this.compose();
    };
  }

  private compose(): void {
    this.wrap = this.hooks.reduceRight<RunHook | undefined>(
      (next, hook) =>
        next === undefined ? hook : (run, invoke) => hook(run, () => next(run, invoke)),
      undefined,
    );
  }
}
