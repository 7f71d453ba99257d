import { REDIS_SCHEDULER_CLIENT, RedisSchedulerModule } from '../../../lib';
import { generateApiKey, hashApiKey, SchedulerAdminModule } from '../../../lib/integrations/admin';
import { freshPrefix } from '../../support/create-app';
import { RedisServerHandle, startRedisServer } from '../../support/redis-server';
import { waitFor } from '../../support/wait-for';
import { AdminHttpApp, PLATFORMS, startAdminHttpApp } from './admin-http';

/*
 * Redis down while the app runs (admin-contract.md): the admin API answers 503 REDIS_UNAVAILABLE
 * at once, without waiting for Redis to come back, and answers again once it is back.
 */

const ADMIN_KEY = generateApiKey();
const AUTH = { apiKeys: { admin: [hashApiKey(ADMIN_KEY)], tenants: {} } };
/** Longer than the request may take: a request that waits for Redis fails the test. */
const DOWN_MS = 15_000;

jest.setTimeout(60_000);

describe.each(PLATFORMS)('the admin API on %s with Redis down', (platform) => {
  let server: RedisServerHandle;
  let app: AdminHttpApp;
  beforeEach(async () => {
    server = await startRedisServer();
  });
  afterEach(async () => {
    await app?.close();
    await server?.stop();
  });

  it('answers 503 REDIS_UNAVAILABLE at once, then 200 when Redis is back', async () => {
    app = await startAdminHttpApp(platform, {
      imports: [
        RedisSchedulerModule.forRoot({ redis: server.url, keyPrefix: freshPrefix() }),
        SchedulerAdminModule.forRoot({ path: 'scheduler', auth: AUTH }),
      ],
    });
    const client = app.app.get<{ status: string }>(REDIS_SCHEDULER_CLIENT);
    expect(
      (await app.call('GET', '/scheduler/tenants/acme/schedules', { key: ADMIN_KEY })).status,
    ).toBe(200);

    const back = server.restart({ downMs: DOWN_MS });
    await waitFor(() => client.status !== 'ready', { message: 'the client to see Redis gone' });
    const started = Date.now();
    const down = await app.call('GET', '/scheduler/tenants/acme/schedules', { key: ADMIN_KEY });
    expect({ status: down.status, code: down.body?.code }).toEqual({
      status: 503,
      code: 'REDIS_UNAVAILABLE',
    });
    expect(Date.now() - started).toBeLessThan(DOWN_MS / 3);
    // The public OpenAPI document needs no Redis.
    const document = await app.call('GET', '/scheduler/openapi.json');
    expect(document.status).toBe(200);
    const paths = document.body?.paths as Record<string, Record<string, { responses: object }>>;
    expect(paths['/scheduler/tenants/{tenantId}/schedules'].get.responses).toHaveProperty('503');
    // whoami reads no Redis: it still answers.
    expect((await app.call('GET', '/scheduler/whoami', { key: ADMIN_KEY })).body).toEqual({
      kind: 'admin',
    });

    await back;
    await waitFor(
      async () =>
        (await app.call('GET', '/scheduler/tenants/acme/schedules', { key: ADMIN_KEY })).status ===
        200,
      { message: 'a 200 once Redis is back', timeoutMs: 30_000 },
    );
  });

  it('answers 503 REDIS_UNAVAILABLE when Redis hangs with the connection open, 200 once it answers', async () => {
    app = await startAdminHttpApp(platform, {
      imports: [
        RedisSchedulerModule.forRoot({ redis: server.url, keyPrefix: freshPrefix() }),
        SchedulerAdminModule.forRoot({ path: 'scheduler', auth: AUTH }),
      ],
    });
    server.pause();
    try {
      const started = Date.now();
      const hung = await app.call('GET', '/scheduler/tenants/acme/schedules', { key: ADMIN_KEY });
      expect({ status: hung.status, code: hung.body?.code }).toEqual({
        status: 503,
        code: 'REDIS_UNAVAILABLE',
      });
      expect(Date.now() - started).toBeLessThan(8_000);
    } finally {
      server.resume();
    }
    const back = await app.call('GET', '/scheduler/tenants/acme/schedules', { key: ADMIN_KEY });
    expect(back.status).toBe(200);
  });
});
