import { Module } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { AdminCircuits } from './admin-circuits';
import { AdminAuthenticator } from './auth';
import { buildOpenApiDocument } from './admin-openapi';
import {
  OPENAPI_DOCUMENT,
  SCHEDULER_ADMIN_AUTHENTICATOR,
  SCHEDULER_ADMIN_OPTIONS,
} from './scheduler-admin.constants';
import { SchedulerDashboardController } from './dashboard/scheduler-dashboard.controller';
import { SchedulerAdminController } from './scheduler-admin.controller';
import { SchedulerAdminExceptionFilter } from './scheduler-admin.filter';
import { SchedulerAdminGuard } from './scheduler-admin.guard';
import {
  ADMIN_PATH,
  SCHEDULER_ADMIN_MODULE_OPTIONS,
  SchedulerAdminConfigurableModule,
} from './scheduler-admin.module-definition';
import {
  resolveAdminOptions,
  type ResolvedSchedulerAdminOptions,
  type SchedulerAdminOptions,
} from './scheduler-admin.options';

/**
 * The admin REST API (and dashboard) mounted under `path` in any Nest app, Express or Fastify:
 * `SchedulerAdminModule.forRoot({ path: 'scheduler', auth })`. Needs RedisSchedulerModule in the
 * app; reads HttpTargetsModule's circuit breakers when the app has it.
 */
@Module({
  controllers: [SchedulerAdminController, SchedulerDashboardController],
  providers: [
    {
      provide: SCHEDULER_ADMIN_OPTIONS,
      useFactory: (options: SchedulerAdminOptions) => resolveAdminOptions(options),
      inject: [SCHEDULER_ADMIN_MODULE_OPTIONS],
    },
    {
      provide: SCHEDULER_ADMIN_AUTHENTICATOR,
      useFactory: (options: ResolvedSchedulerAdminOptions, moduleRef: ModuleRef) =>
        AdminAuthenticator.create(options, moduleRef),
      inject: [SCHEDULER_ADMIN_OPTIONS, ModuleRef],
    },
    {
      provide: OPENAPI_DOCUMENT,
      useFactory: (path: string, options: ResolvedSchedulerAdminOptions) =>
        buildOpenApiDocument(path, options.auth),
      inject: [ADMIN_PATH, SCHEDULER_ADMIN_OPTIONS],
    },
    AdminCircuits,
    SchedulerAdminGuard,
    SchedulerAdminExceptionFilter,
  ],
})
export class SchedulerAdminModule extends SchedulerAdminConfigurableModule {}
