import { Injectable } from '@nestjs/common';
import { EventEmitter } from 'node:events';

/** What every run event says about the run. */
export interface RunEvent {
  scheduleId: string;
  /** The handler's name: a static schedule's name, or the `@ScheduleHandler` name of a dynamic one. */
  handler: string;
  tenantId?: string;
  fireTime: Date;
  attempt: number;
  fencingToken: number;
}

export interface SchedulerEventMap {
  /** A handler was invoked. */
  'run.started': RunEvent;
  /** Redis recorded the run's success; `result` is what the handler returned, if anything. */
  'run.succeeded': RunEvent & { result?: unknown };
  /**
   * Redis recorded the run's final failure (also kept as a dead letter); `result` is the one its
   * error carried (RunResultCarrier), if any.
   */
  'run.failed': RunEvent & { error: string; result?: unknown };
  /** The run failed and a retry of the same fire time is due at `retryAt`; `result` as run.failed's. */
  'run.retrying': RunEvent & { error: string; retryAt: Date; result?: unknown };
  /** The run ended after losing its lease; its completion was not recorded. */
  'run.rejected': RunEvent & { reason: string };
  /**
   * The schedule's fire times could not be computed (see `Schedule.state`): it is parked, with a
   * dead letter, until it is resumed or upserted again. `fireTime` is the run that found it.
   */
  'schedule.parked': RunEvent & { error: string };
  /** Fire times were passed over unrun (misfire or overlap policy). */
  'fires.skipped': {
    scheduleId: string;
    tenantId?: string;
    handler: string;
    count: number;
    resumeAt: Date;
  };
  /** A running run lost its lease (taken over, removed, or expired): its signal is aborted. */
  'lease.lost': { scheduleId: string; fencingToken: number; reason: string };
  /** A Redis call of the engine failed (`operation`: 'claim', 'complete' or 'renew'). */
  'redis.error': { operation: 'claim' | 'complete' | 'renew'; error: string };
  /**
   * With a `store`: a reconciliation pass made Redis match it (emitted by the pod that ran it,
   * only when it repaired something or failed on a row). `full`: every row was compared.
   */
  'schedules.reconciled': ReconcileReport;
  /**
   * A call target's circuit breaker changed state on this pod (the 'http' handler's breakers,
   * one per tenant and host, emit it; metrics and dashboards read it).
   */
  'target.circuit': TargetCircuitEvent;
}

/** A call target's circuit breaker state: see the 'target.circuit' event. */
export interface TargetCircuitEvent {
  /** The tenant whose calls the breaker counts ('' for static schedules): breakers are per tenant. */
  tenantId: string;
  /** The target's `host[:port]`. */
  host: string;
  /** closed: calls pass; open: calls fail fast; half-open: one probe call passes. */
  state: 'closed' | 'half-open' | 'open';
  /** Consecutive failed calls counted by the breaker (0 once a call succeeded). */
  consecutiveFailures: number;
}

/** What one reconciliation pass did. */
export interface ReconcileReport {
  full: boolean;
  /** Store rows read. */
  scanned: number;
  /** Missing from Redis, written. */
  created: number;
  /** Different in Redis (an older version), written again. */
  updated: number;
  /** Removed in the store (or unknown to it), removed from Redis. */
  removed: number;
  /** Rows that could not be applied, with why. */
  failed: { tenantId: string; id: string; reason: string }[];
  /**
   * @DistributedCron schedules of the reconciling pod written back (Redis lost them), paused or
   * resumed to match the store's static pauses.
   */
  statics: number;
  durationMs: number;
}

export type SchedulerEventName = keyof SchedulerEventMap;

/** @internal See SchedulerEvents.runSink; times are the pod's Redis-time estimate (ms). */
export type RunSink = (
  info: { tenantId?: string; id: string },
  run: { fireMs: number; attempt: number; fencingToken: number },
  /** `result`: the run's result JSON, '' for none. */
  completion: {
    outcome: 'succeeded' | 'failed' | 'skipped' | 'retry';
    error: string;
    result: string;
  },
  startedMs: number,
  endedMs: number,
  /** The run's sequence number as completeRuns answered it (RunRecord.sequence); 0 for none. */
  sequence: number,
) => void;

/** A listener of every event (SchedulerEvents.onAny). */
export type AnyListener = <E extends SchedulerEventName>(
  event: E,
  payload: SchedulerEventMap[E],
) => void;

/**
 * Typed, in-process events of this pod's runs, for metrics, tracing and tests. Listeners run
 * synchronously and must not throw (a throwing listener is caught and ignored).
 */
@Injectable()
export class SchedulerEvents {
  private readonly emitter = new EventEmitter();
  private readonly anyListeners = new Set<AnyListener>();
  /**
   * @internal The store's run history (issue 12): called once per recorded run end, with its
   * fields as arguments (no payload object), by the pod that ran it. At most one sink.
   */
  runSink: RunSink | undefined;

  on<E extends SchedulerEventName>(
    event: E,
    listener: (payload: SchedulerEventMap[E]) => void,
  ): () => void {
    const safe = (payload: SchedulerEventMap[E]): void => {
      try {
        listener(payload);
      } catch {
        // a listener's failure must never affect a run
      }
    };
    this.emitter.on(event, safe);
    return () => this.emitter.off(event, safe);
  }

  /**
   * Listens to every event, including events added in later versions (the event-emitter bridge
   * forwards them all). Returns the function that stops listening.
   */
  onAny(listener: AnyListener): () => void {
    const safe: AnyListener = (event, payload) => {
      try {
        listener(event, payload);
      } catch {
        // a listener's failure must never affect a run
      }
    };
    this.anyListeners.add(safe);
    return () => this.anyListeners.delete(safe);
  }

  /** Whether anything listens to `event`, so that a run builds no payload nobody reads. */
  wants(event: SchedulerEventName): boolean {
    return this.anyListeners.size > 0 || this.emitter.listenerCount(event) > 0;
  }

  emit<E extends SchedulerEventName>(event: E, payload: SchedulerEventMap[E]): void {
    if (this.emitter.listenerCount(event) > 0) this.emitter.emit(event, payload);
    if (this.anyListeners.size > 0)
      for (const listener of this.anyListeners) listener(event, payload);
  }
}
