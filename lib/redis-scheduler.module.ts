import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { HandlerRegistry } from './discovery/handler.registry';
import { RedisSchedulerMetadataAccessor } from './discovery/redis-scheduler-metadata.accessor';
import { RedisSchedulerExplorer } from './discovery/redis-scheduler.explorer';
import { SchedulerEngine } from './engine/scheduler.engine';
import { SchedulerEvents } from './events/scheduler-events';
import { RunInstrumentation } from './events/run-instrumentation';
import { SchedulerMonitor } from './monitor/scheduler-monitor';
import { StaticScheduleSync } from './engine/static-schedule.sync';
import { RedisSchedulerModuleOptions } from './interfaces/redis-scheduler-options.interface';
import { RedisLockService } from './lock/redis-lock.service';
import { REDIS_SCHEDULER_CLIENT, REDIS_SCHEDULER_OPTIONS } from './redis-scheduler.constants';
import { ConfigurableModuleClass, MODULE_OPTIONS_TOKEN } from './redis-scheduler.module-definition';
import { resolveOptions } from './redis-scheduler.options';
import { RedisConnection } from './redis/redis-client.provider';
import { ScheduleStore } from './engine/schedule.store';
import { SchedulerService } from './scheduler/scheduler.service';
import { ScheduleReconciler } from './reconcile/schedule-reconciler';
import { RunHistoryWriter } from './reconcile/run-history.writer';
import { SourceSync } from './reconcile/source-sync';
import { RedisClock } from './time/redis-clock';

/**
 * Cron schedules that run exactly once per fire time across every replica, coordinated through
 * Redis. `RedisSchedulerModule.forRoot(options)` or `.forRootAsync({ imports, inject, useFactory })`;
 * global by default (`isGlobal: false` to opt out).
 */
@Module({
  imports: [DiscoveryModule],
  providers: [
    {
      provide: REDIS_SCHEDULER_OPTIONS,
      useFactory: (options: RedisSchedulerModuleOptions) => resolveOptions(options),
      inject: [MODULE_OPTIONS_TOKEN],
    },
    RedisConnection,
    {
      provide: REDIS_SCHEDULER_CLIENT,
      useFactory: (connection: RedisConnection) => connection.client,
      inject: [RedisConnection],
    },
    {
      provide: RedisClock,
      useFactory: (connection: RedisConnection) => new RedisClock(connection.client),
      inject: [RedisConnection],
    },
    RedisSchedulerMetadataAccessor,
    HandlerRegistry,
    RedisSchedulerExplorer,
    ScheduleStore,
    StaticScheduleSync,
    SchedulerEngine,
    SchedulerService,
    RedisLockService,
    SchedulerEvents,
    RunInstrumentation,
    SchedulerMonitor,
    ScheduleReconciler,
    RunHistoryWriter,
    SourceSync,
  ],
  exports: [
    SchedulerService,
    RedisLockService,
    SchedulerEvents,
    RunInstrumentation,
    SchedulerMonitor,
    REDIS_SCHEDULER_CLIENT,
  ],
})
export class RedisSchedulerModule extends ConfigurableModuleClass {}
