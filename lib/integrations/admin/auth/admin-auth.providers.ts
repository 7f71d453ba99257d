import type { InjectionToken, Provider } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ADMIN_ACCESS, ADMIN_RATE_LIMITER } from './admin-auth.constants';
import { AdminAuthSettings, resolveAdminAccess, ResolvedAdminAccess } from './admin-auth.options';
import { AdminRateLimiter } from './admin-rate-limiter';
import { SchedulerAdminGuard } from './scheduler-admin.guard';

/**
 * What the admin module registers for authentication, given the token of its options (an
 * AdminAuthSettings): the validated options (a bad key entry fails the boot, naming the entry),
 * the rate limiter (null with `rateLimit: false`) and SchedulerAdminGuard, which the module's
 * controllers apply with `@UseGuards(SchedulerAdminGuard)`.
 */
export function adminAuthProviders(optionsToken: InjectionToken): Provider[] {
  return [
    {
      provide: ADMIN_ACCESS,
      useFactory: (options: AdminAuthSettings) => resolveAdminAccess(options),
      inject: [optionsToken],
    },
    {
      provide: ADMIN_RATE_LIMITER,
      useFactory: (access: ResolvedAdminAccess, reflector: Reflector) =>
        access.rateLimit && AdminRateLimiter.create(access.rateLimit, reflector),
      inject: [ADMIN_ACCESS, Reflector],
    },
    SchedulerAdminGuard,
  ];
}
