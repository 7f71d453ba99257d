import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { REDIS_SCHEDULER_CLIENT, SchedulerMonitor } from '../../index';
import { ADMIN_ROUTES, type AdminOperation } from './admin-routes';
import { AdminRedisUnavailableError } from './admin.errors';
import { ADMIN_ROUTE_METADATA } from './scheduler-admin.constants';

/** How long Redis has to answer the PING before an admin request: beyond, 503. */
const PING_TIMEOUT_MS = 2_000;

/**
 * Runs after SchedulerAdminGuard: a route that reads or writes Redis is refused with 503
 * REDIS_UNAVAILABLE while the scheduler's client is not connected, or when Redis does not answer
 * a PING within PING_TIMEOUT_MS (a hung or partitioned server keeps the connection open), instead
 * of waiting for as long as Redis is down (ioredis queues commands until it reconnects).
 */
@Injectable()
export class RedisAvailableGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Inject(REDIS_SCHEDULER_CLIENT) private readonly client: { status: string },
    private readonly monitor: SchedulerMonitor,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const operation = this.reflector.get<AdminOperation | undefined>(
      ADMIN_ROUTE_METADATA,
      context.getHandler(),
    );
    // The dashboard's files, the OpenAPI document and whoami read no Redis.
    const access = operation === undefined ? 'admin' : ADMIN_ROUTES[operation].access;
    if (access === 'public' || access === 'any') return true;
    if (this.client.status !== 'ready') throw new AdminRedisUnavailableError();
    if (!(await this.monitor.pingRedis(PING_TIMEOUT_MS)).ok) throw new AdminRedisUnavailableError();
    return true;
  }
}
