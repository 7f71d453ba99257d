import type { SchedulePolicy } from './schedule-policy.interface';

export interface DistributedCronOptions extends SchedulePolicy {
  /** Schedule name, unique in the application. @default '<Class>.<method>' */
  name?: string;
  /** IANA time zone the expression is read in (@DistributedCron only). @default the module's defaultTimeZone ('UTC') */
  timeZone?: string;
  /** Spread runs over [0, jitterMs] after each fire time, deterministically. @default module defaultJitterMs */
  jitterMs?: number;
  /** Declared but never run. @default false */
  disabled?: boolean;
}

/** A @DistributedCron (cron) or @DistributedInterval (every) as found on a provider method. */
export interface DistributedCronMetadata extends DistributedCronOptions {
  cron?: string;
  every?: number | string;
}
