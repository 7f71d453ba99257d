import type { ReconcileReport } from '../events/scheduler-events';

/** An empty report of a pass starting now. */
export function emptyReport(full: boolean): ReconcileReport & { startedAt: number } {
  return {
    full,
    scanned: 0,
    created: 0,
    updated: 0,
    removed: 0,
    failed: [],
    statics: 0,
    durationMs: 0,
    startedAt: Date.now(),
  };
}

/** The report with the pass's duration. */
export function finish(report: ReconcileReport & { startedAt?: number }): ReconcileReport {
  const { startedAt, ...rest } = report;
  return { ...rest, durationMs: Date.now() - (startedAt ?? Date.now()) };
}
