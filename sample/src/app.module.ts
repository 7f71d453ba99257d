import { DynamicModule, Module } from '@nestjs/common';
import { RedisSchedulerModule, type RedisSchedulerModuleOptions } from 'nestjs-redis-scheduler';
import { hashApiKey, SchedulerAdminModule } from 'nestjs-redis-scheduler/admin';
import { HttpTargetsModule } from 'nestjs-redis-scheduler/http';
import { DemoTenant } from './demo-tenant';
import { EchoController } from './echo.controller';
import { ReportJobs } from './report.jobs';
import { RunLog } from './run-log';
import { SERVICE_CONFIG } from './service.constants';
import type { ServiceConfig } from './service.config';

/**
 * The scheduler service: the scheduler, the built-in 'http' handler allowed to call the echo
 * target (and HTTP_ALLOW), the admin API and dashboard at /scheduler behind API keys, the demo
 * tenant's schedules, and the echo target itself.
 */
@Module({})
export class AppModule {
  static register(config: ServiceConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        RedisSchedulerModule.forRootAsync({ useFactory: () => schedulerOptions(config) }),
        HttpTargetsModule.forRoot({
          allow: config.allow,
          // The echo target is on this host: loopback allowed, but only what `allow` lists.
          allowLoopback: true,
          breaker: config.breaker,
        }),
        SchedulerAdminModule.forRoot({
          path: 'scheduler',
          // Only the keys' hashes reach the module; the plain keys stay in the config (banner).
          auth: {
            apiKeys: {
              admin: [hashApiKey(config.adminKey.key)],
              tenants: Object.fromEntries(
                Object.entries(config.tenantKeys).map(([tenant, { key }]) => [
                  tenant,
                  [hashApiKey(key)],
                ]),
              ),
            },
          },
          rateLimit: config.rateLimitPerMinute === 0 ? false : { limit: config.rateLimitPerMinute },
        }),
      ],
      controllers: [EchoController],
      providers: [{ provide: SERVICE_CONFIG, useValue: config }, ReportJobs, DemoTenant, RunLog],
    };
  }
}

async function schedulerOptions(config: ServiceConfig): Promise<RedisSchedulerModuleOptions> {
  return {
    redis: config.redisUrl,
    keyPrefix: config.keyPrefix,
    // The demo fires every few seconds; production tenants usually get a minute or more.
    tenantGuards: { maxSchedulesPerTenant: 50, minIntervalMs: 1_000 },
    runHistory: 50,
    // Loaded only with DATABASE_URL: without it, `pg` is never required.
    store: config.databaseUrl ? await postgresStore(config.databaseUrl) : undefined,
  };
}

async function postgresStore(connectionString: string) {
  const { PostgresScheduleStore } = await import('nestjs-redis-scheduler/postgres');
  return new PostgresScheduleStore({ connectionString, schema: 'rsched_sample' });
}
