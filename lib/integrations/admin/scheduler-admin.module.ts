import { Module } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { AdminCircuits } from './admin-circuits';
import { AdminAuthenticator } from './auth';
import { buildOpenApiDocument } from './admin-openapi';
import { OPENAPI_DOCUMENT, SCHEDULER_ADMIN_AUTHENTICATOR } from './scheduler-admin.constants';
import { SchedulerDashboardController } from './dashboard/scheduler-dashboard.controller';
import { SchedulerAdminController } from './scheduler-admin.controller';
import { SchedulerAdminExceptionFilter } from './scheduler-admin.filter';
import { SchedulerAdminGuard } from './scheduler-admin.guard';
import {
  ADMIN_PATH,
  SCHEDULER_ADMIN_MODULE_OPTIONS,
  SchedulerAdminConfigurableModule,
} from './scheduler-admin.module-definition';
import type { SchedulerAdminOptions } from './scheduler-admin.options';

/**
 * The admin REST API (and dashboard) mounted under `path` in any Nest app, Express or Fastify:
 * `SchedulerAdminModule.forRoot({ path: 'scheduler', auth })`. Needs RedisSchedulerModule in the
 * app; reads HttpTargetsModule's circuit breakers when the app has it.
 */
@Module({
  controllers: [SchedulerAdminController, SchedulerDashboardController],
  providers: [
    {
      // Checks `auth` and `rateLimit` at boot (a typed error naming the option).
      provide: SCHEDULER_ADMIN_AUTHENTICATOR,
      useFactory: (options: SchedulerAdminOptions, moduleRef: ModuleRef) =>
        AdminAuthenticator.create(options, moduleRef),
      inject: [SCHEDULER_ADMIN_MODULE_OPTIONS, ModuleRef],
    },
    {
      provide: OPENAPI_DOCUMENT,
      useFactory: (path: string, options: SchedulerAdminOptions) =>
        buildOpenApiDocument(path, options.auth),
      inject: [ADMIN_PATH, SCHEDULER_ADMIN_MODULE_OPTIONS],
    },
    AdminCircuits,
    SchedulerAdminGuard,
    SchedulerAdminExceptionFilter,
  ],
})
export class SchedulerAdminModule extends SchedulerAdminConfigurableModule {}
