import { SchedulerError } from './scheduler.error';

export class IntervalTooShortError extends SchedulerError {
  constructor(
    /** The cron expression, or 'every <as written>' for an interval. */
    readonly expression: string,
    readonly shortestGapMs: number,
    readonly minIntervalMs: number,
    /** The expression with its `H` drawn for the schedule, when it differs from `expression`. */
    readonly resolvedExpression: string = expression,
  ) {
    const drawn =
      resolvedExpression === expression
        ? ''
        : ` (with its H drawn for this schedule: "${resolvedExpression}")`;
    const interval = expression.startsWith('every ');
    super(
      'INTERVAL_TOO_SHORT',
      interval
        ? `Interval "${expression.slice(6)}" is ${shortestGapMs} ms; tenantGuards.minIntervalMs requires at least ${minIntervalMs} ms between two runs. Use a longer interval.`
        : `Cron "${expression}"${drawn} fires as little as ${shortestGapMs} ms apart somewhere in its cycle; tenantGuards.minIntervalMs requires at least ${minIntervalMs} ms between two runs. Use a sparser expression.`,
    );
  }
}
