import { Injectable } from '@nestjs/common';
import type { ScheduleContext } from '../interfaces/schedule-context.interface';

/** What an instrumentation hook is told of a run whose handler is about to be invoked. */
export interface InstrumentedRun {
  /** The handler's name: a static schedule's name, or the `@ScheduleHandler` name of a dynamic one. */
  handler: string;
  kind: 'static' | 'dynamic';
  /** The context the handler gets (scheduleId, tenantId, fireTime, dueTime, attempt, fencingToken). */
  context: ScheduleContext;
}

/**
 * Wraps one handler invocation: calls `invoke()` once, in the async context it wants the handler
 * to run in (a tracing span, for example), and returns or rethrows what `invoke()` settles with,
 * unchanged. A hook must not throw anything of its own: what it throws is the run's failure.
 */
export type RunHook = (run: InstrumentedRun, invoke: () => Promise<unknown>) => Promise<unknown>;

/**
 * The hooks around every handler invocation of this app's scheduler (the tracing and metrics
 * integrations register theirs). With none registered, `wrap` is undefined and the run executor
 * calls the handler directly: no closure, no promise, no cost per run.
 */
@Injectable()
export class RunInstrumentation {
  /** The registered hooks composed, the first registered outermost; undefined without hooks. */
  wrap: RunHook | undefined;
  private readonly hooks: RunHook[] = [];

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
