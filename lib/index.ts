export { RedisSchedulerModule } from './redis-scheduler.module';
export { HTTP_TARGET_CIRCUITS, REDIS_SCHEDULER_CLIENT } from './redis-scheduler.constants';
export { DistributedCron } from './decorators/distributed-cron.decorator';
export { DistributedInterval } from './decorators/distributed-interval.decorator';
export { ScheduleHandler } from './decorators/schedule-handler.decorator';
export { PreparePayload } from './decorators/prepare-payload.decorator';
export type { PayloadTarget } from './discovery/handler.registry';
export { SchedulerService } from './scheduler/scheduler.service';
export { RedisLockService } from './lock/redis-lock.service';
export type { WithLockOptions } from './lock/redis-lock.service';
export type { SyncOptions, SyncResult } from './scheduler/schedule-sync';
export { Lock } from './lock/lock';
export { SchedulerEvents } from './events/scheduler-events';
export type {
  AnyListener,
  RunEvent,
  SchedulerEventMap,
  SchedulerEventName,
} from './events/scheduler-events';
export { RunInstrumentation } from './events/run-instrumentation';
export type { InstrumentedRun, RunHook, RunObserver } from './events/run-instrumentation';
export { SchedulerMonitor } from './monitor/scheduler-monitor';
export type { BacklogSample, RedisProbe, SchedulerSnapshot } from './monitor/scheduler-monitor';
export type {
  MisfirePolicy,
  OverlapPolicy,
  RetryPolicy,
  SchedulePolicy,
} from './interfaces/schedule-policy.interface';
export type {
  RedisSchedulerModuleOptions,
  TenantGuardOptions,
} from './interfaces/redis-scheduler-options.interface';
export type { DistributedCronOptions } from './interfaces/distributed-cron-options.interface';
export type {
  Schedule,
  ScheduleInput,
  RunStatus,
  ScheduleState,
  ParkedInfo,
  StaticSchedule,
} from './interfaces/schedule.interface';
export type { ScheduleHandlers, HandlerPayload } from './interfaces/schedule-handlers.interface';
export { ScheduleContext } from './interfaces/schedule-context.interface';
export type { DeadLetter } from './interfaces/dead-letter.interface';
export type { RunRecord } from './interfaces/run-record.interface';
export type { Page, PageOptions, TenantSummary } from './interfaces/page.interface';
export type {
  DescribeOptions,
  RunCounters,
  ScheduleDescription,
  StaticScheduleDescription,
  UpcomingFire,
} from './interfaces/schedule-description.interface';
export type { TriggerResult, TriggerRefusal } from './interfaces/trigger-result.interface';
export type {
  ScheduleStore,
  ScheduleDefinition,
  StoredScheduleRecord,
  ScheduleChange,
  ScheduleChangeResult,
  ScheduleWriteOptions,
  ScheduleWatermark,
  RunColumns,
  StoredRun,
  TenantAction,
} from './interfaces/schedule-store.interface';
export type { ScheduleSource } from './interfaces/schedule-source.interface';
export { SchedulerError } from './errors/scheduler.error';
export { InvalidCronError } from './errors/invalid-cron.error';
export { InvalidTimingError } from './errors/invalid-timing.error';
export { UnknownTimeZoneError } from './errors/unknown-time-zone.error';
export { UnknownHandlerError } from './errors/unknown-handler.error';
export { TenantQuotaExceededError } from './errors/tenant-quota-exceeded.error';
export { IntervalTooShortError } from './errors/interval-too-short.error';
export { PayloadTooLargeError } from './errors/payload-too-large.error';
export { InvalidIdentifierError } from './errors/invalid-identifier.error';
export { InvalidOptionsError } from './errors/invalid-options.error';
export { BulkUpsertError } from './errors/bulk-upsert.error';
export type { BulkUpsertFailure } from './errors/bulk-upsert.error';
export { DuplicateScheduleError } from './errors/duplicate-schedule.error';
export { LockLostError } from './errors/lock-lost.error';
export { RunTimeoutError } from './errors/run-timeout.error';
export { NonRetryableError } from './errors/non-retryable.error';
export { LockNotAcquiredError } from './errors/lock-not-acquired.error';
export { ConcurrentChangeError } from './errors/concurrent-change.error';
export { UnexpectedScriptReplyError } from './errors/unexpected-script-reply.error';
export { RedisUnavailableError } from './errors/redis-unavailable.error';
export { StaticScheduleConflictError } from './errors/static-schedule-conflict.error';
export { ScheduleStoreUnavailableError } from './errors/schedule-store-unavailable.error';
export { ScheduleNotAppliedError } from './errors/schedule-not-applied.error';
