import type { ActiveRun, Claimed } from './claimed-run';

/** What every run event says about the run. */
export function describe(c: Claimed) {
  const { run } = c;
  return {
    scheduleId: c.info.id,
    handler: c.source.handler.name,
    tenantId: c.info.tenantId,
    fireTime: new Date(run.fireMs),
    attempt: run.attempt,
    fencingToken: run.fencingToken,
  };
}

/** A failure event's payload, with the result its error carried when there is one. */
export function withResult<T extends object>(
  payload: T,
  active: ActiveRun,
): T & { result?: unknown } {
  const result = active.outcome?.result;
  return result === undefined ? payload : { ...payload, result };
}

/** A dead letter's JSON (toDeadLetter reads it), with the run's result JSON ('' for none) as `result`. */
export function deadLetterJson(c: Claimed, error: string, result: string, nowMs: number): string {
  const { run } = c;
  const json = JSON.stringify({
    tenantId: c.info.tenantId,
    scheduleId: c.info.id,
    handler: c.source.handler.name,
    fireTime: new Date(run.fireMs).toISOString(),
    attempts: run.attempt,
    error,
    failedAt: new Date(nowMs).toISOString(),
  });
  return result === '' ? json : `${json.slice(0, -1)},"result":${result}}`;
}
