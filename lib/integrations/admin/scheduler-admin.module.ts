import { CanActivate, Module, Type } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { InvalidOptionsError } from '../../index';
import { AdminCircuits } from './admin-circuits';
import { buildOpenApiDocument } from './admin-openapi';
import {
  OPENAPI_DOCUMENT,
  SCHEDULER_ADMIN_AUTHENTICATOR,
  SCHEDULER_ADMIN_OPTIONS,
} from './scheduler-admin.constants';
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

/** The guard that authenticates requests, from the `auth` option; null for 'none'. */
async function authenticator(
  { auth }: ResolvedSchedulerAdminOptions,
  moduleRef: ModuleRef,
): Promise<CanActivate | null> {
  if (auth === 'none') return null;
  if ('guard' in auth) {
    const { guard } = auth;
    return typeof guard === 'function' ? moduleRef.create(guard as Type<CanActivate>) : guard;
  }
  throw new InvalidOptionsError(
    'SchedulerAdminModule option `auth.apiKeys`',
    'the built-in API-key guard is not part of this build yet; give `{ guard }` meanwhile',
  );
}

/**
 * The admin REST API (and dashboard) mounted under `path` in any Nest app, Express or Fastify:
 * `SchedulerAdminModule.forRoot({ path: 'scheduler', auth })`. Needs RedisSchedulerModule in the
 * app; reads HttpTargetsModule's circuit breakers when the app has it.
 */
@Module({
  controllers: [SchedulerAdminController],
  providers: [
    {
      provide: SCHEDULER_ADMIN_OPTIONS,
      useFactory: (options: SchedulerAdminOptions) => resolveAdminOptions(options),
      inject: [SCHEDULER_ADMIN_MODULE_OPTIONS],
    },
    {
      provide: SCHEDULER_ADMIN_AUTHENTICATOR,
      useFactory: authenticator,
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
