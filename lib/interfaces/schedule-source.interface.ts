import type { ScheduleInput } from './schedule.interface';

/**
 * Your own table as the source of dynamic schedules (the module's `source` option): the module
 * calls load() at boot and every `reconcileIntervalMs` and makes Redis match what it yields, as
 * `SchedulerService.sync(records, { removeMissing: true })` does (tenants the records no longer
 * name at all keep their schedules: remove those yourself).
 */
export interface ScheduleSource {
  load(): AsyncIterable<ScheduleInput> | Iterable<ScheduleInput>;
}
