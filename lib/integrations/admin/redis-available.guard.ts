import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { REDIS_SCHEDULER_CLIENT } from '../../index';
import { ADMIN_ROUTES, type AdminOperation } from './admin-routes';
import { AdminRedisUnavailableError } from './admin.errors';
import { ADMIN_ROUTE_METADATA } from './scheduler-admin.constants';

/**
 * Runs after SchedulerAdminGuard: a route that reads or writes Redis is refused with 503
 * REDIS_UNAVAILABLE while the scheduler's client is not connected, instead of waiting (ioredis
 * queues commands until it reconnects) for as long as Redis is down. Public routes need no Redis.
 */
@Injectable()
export class RedisAvailableGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Inject(REDIS_SCHEDULER_CLIENT) private readonly client: { status: string },
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const operation = this.reflector.get<AdminOperation | undefined>(
      ADMIN_ROUTE_METADATA,
      context.getHandler(),
    );
    if (operation !== undefined && ADMIN_ROUTES[operation].access === 'public') return true;
    if (this.client.status !== 'ready') throw new AdminRedisUnavailableError();
    return true;
  }
}
