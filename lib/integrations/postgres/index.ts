/**
 * `nestjs-redis-scheduler/postgres`: the PostgreSQL schedule store (issue 12). Loads `pg` (an
 * optional peer dependency); the core package never imports this file.
 */
export { PostgresScheduleStore } from './postgres-schedule.store';
export type { PostgresScheduleStoreOptions } from './postgres-schedule.store';
export { MIGRATIONS } from './migrations';
export type { Migration } from './migrations';
