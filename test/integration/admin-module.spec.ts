import { CanActivate, ExecutionContext, Injectable, Module } from '@nestjs/common';
import { RedisSchedulerModule } from '../../lib';
import { HttpTargetBreakers, HttpTargetsModule } from '../../lib/integrations/http';
import { generateApiKey, hashApiKey, SchedulerAdminModule } from '../../lib/integrations/admin';
import { AdminApp, PLATFORMS, startAdminApp } from '../support/admin-app';
import { freshPrefix } from '../support/create-app';
import { RedisServerHandle, startRedisServer } from '../support/redis-server';

/*
 * How SchedulerAdminModule is set up: forRoot/forRootAsync, the mount path, the `auth` choices
 * and the circuit breakers of HttpTargetsModule when the app has it. Real redis-server, real app.
 */

let redis: RedisServerHandle;
const apps: AdminApp[] = [];

beforeAll(async () => {
  redis = await startRedisServer();
});

afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

afterAll(async () => {
  await redis?.stop();
});

const scheduler = () =>
  RedisSchedulerModule.forRoot({ redis: redis.url, keyPrefix: freshPrefix() });

async function start(...args: Parameters<typeof startAdminApp>): Promise<AdminApp> {
  const app = await startAdminApp(...args);
  apps.push(app);
  return app;
}

@Injectable()
class ConfigService {
  readonly allowOpen = true;
}

@Module({ providers: [ConfigService], exports: [ConfigService] })
class ConfigModule {}

describe.each(PLATFORMS)('SchedulerAdminModule on %s', (platform) => {
  it('forRootAsync: options from a factory with injected providers, mounted at a nested path', async () => {
    const api = await start(platform, [
      scheduler(),
      SchedulerAdminModule.forRootAsync({
        path: '/ops/scheduler/',
        imports: [ConfigModule],
        inject: [ConfigService],
        useFactory: (config: ConfigService) => ({
          auth: 'none' as const,
          allowUnauthenticated: config.allowOpen,
        }),
      }),
    ]);
    const reply = await api.call('GET', '/ops/scheduler/tenants/acme/schedules');
    expect(reply).toMatchObject({ status: 200, body: { items: [], cursor: null } });
    expect((await api.call('GET', '/scheduler/tenants/acme/schedules')).status).toBe(404);
    const doc = await api.call('GET', '/ops/scheduler/openapi.json');
    expect(Object.keys(doc.body.paths)).toContain('/ops/scheduler/tenants/{tenantId}/schedules');
  });

  it("mounts at 'scheduler' by default; a guard instance decides who passes", async () => {
    const guard: CanActivate = {
      canActivate: (ctx: ExecutionContext) =>
        ctx.switchToHttp().getRequest<{ headers: Record<string, string> }>().headers['x-ok'] ===
        'yes',
    };
    const api = await start(platform, [
      scheduler(),
      SchedulerAdminModule.forRoot({ auth: { guard } }),
    ]);
    expect((await api.call('GET', '/scheduler/tenants', undefined, { 'x-ok': 'yes' })).status).toBe(
      200,
    );
    const refused = await api.call('GET', '/scheduler/tenants');
    expect(refused).toMatchObject({ status: 403, body: { statusCode: 403, code: 'FORBIDDEN' } });
  });
});

describe.each(PLATFORMS)('SchedulerAdminModule with API keys on %s', (platform) => {
  const adminKey = generateApiKey();
  const acmeKey = generateApiKey();

  it('asks every route but the OpenAPI document for a key, and scopes tenant keys', async () => {
    const api = await start(platform, [
      scheduler(),
      SchedulerAdminModule.forRoot({
        auth: {
          apiKeys: { admin: [hashApiKey(adminKey)], tenants: { acme: [hashApiKey(acmeKey)] } },
        },
      }),
    ]);
    const as = (key: string) => ({ authorization: `Bearer ${key}` });
    const anonymous = await api.call('GET', '/scheduler/tenants/acme/schedules');
    expect(anonymous).toMatchObject({ status: 401, body: { code: 'UNAUTHENTICATED' } });
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer');
    const wrong = await api.call('GET', '/scheduler/tenants', undefined, as(generateApiKey()));
    expect(wrong.status).toBe(401);
    expect((await api.call('GET', '/scheduler/tenants', undefined, as(adminKey))).status).toBe(200);
    const own = await api.call('GET', '/scheduler/tenants/acme/schedules', undefined, {
      'x-api-key': acmeKey,
    });
    expect(own.status).toBe(200);
    for (const path of ['/scheduler/tenants/globex/schedules', '/scheduler/tenants']) {
      const other = await api.call('GET', path, undefined, as(acmeKey));
      expect(other).toMatchObject({ status: 403, body: { code: 'TENANT_FORBIDDEN' } });
    }
    const doc = await api.call('GET', '/scheduler/openapi.json');
    expect(doc.status).toBe(200);
    expect(doc.body.security).toEqual([{ bearer: [] }, { apiKey: [] }]);
  });
});

describe('SchedulerAdminModule options', () => {
  it.each([
    ["auth 'none' without allowUnauthenticated", { auth: 'none' }, /allowUnauthenticated: true/],
    ['no auth at all', {}, /Invalid auth: it is required/],
    ['an auth of another shape', { auth: { token: 'x' } }, /Invalid auth: /],
    ['a guard that is not one', { auth: { guard: 42 } }, /Invalid auth.guard: /],
    [
      'a bad rate limit',
      { auth: 'none', allowUnauthenticated: true, rateLimit: { limit: 0 } },
      /rateLimit.limit/,
    ],
  ])('refuse %s at boot with InvalidOptionsError', async (_what, options, message) => {
    const boot = start('express', [
      scheduler(),
      SchedulerAdminModule.forRoot(options as Parameters<typeof SchedulerAdminModule.forRoot>[0]),
    ]);
    await expect(boot).rejects.toMatchObject({
      code: 'INVALID_OPTIONS',
      message: expect.stringMatching(message),
    });
  });

  it('refuse a path that is not a URL path', () => {
    expect(() =>
      SchedulerAdminModule.forRoot({ path: 'a/../b', auth: 'none', allowUnauthenticated: true }),
    ).toThrow(/option `path`/);
    expect(() =>
      SchedulerAdminModule.forRoot({ path: 'a b', auth: 'none', allowUnauthenticated: true }),
    ).toThrow(/option `path`/);
  });
});

describe('circuits, with HttpTargetsModule in the app', () => {
  it('lists every circuit for an admin, and per tenant those of the hosts its schedules call', async () => {
    const api = await start('express', [
      scheduler(),
      HttpTargetsModule.forRoot({
        allow: ['*'],
        allowLoopback: true,
        breaker: { failureThreshold: 1 },
      }),
      SchedulerAdminModule.forRoot({ auth: 'none', allowUnauthenticated: true }),
    ]);
    const create = (tenantId: string, url: string) =>
      api.call('POST', `/scheduler/tenants/${tenantId}/schedules`, {
        id: 'hook',
        handler: 'http',
        cron: '0 9 * * *',
        payload: { url },
      });
    expect((await create('acme', 'http://127.0.0.1:9/hook')).status).toBe(201);
    expect((await create('globex', 'http://127.0.0.2:9/hook')).status).toBe(201);
    const breakers = api.app.get(HttpTargetBreakers, { strict: false });
    breakers.record('127.0.0.1:9', 'failure', false);
    breakers.record('127.0.0.2:9', 'failure', false);

    const all = await api.call('GET', '/scheduler/circuits');
    expect(all.body.items.map((c: { host: string; state: string }) => [c.host, c.state])).toEqual([
      ['127.0.0.1:9', 'open'],
      ['127.0.0.2:9', 'open'],
    ]);
    const acme = await api.call('GET', '/scheduler/tenants/acme/circuits');
    expect(acme.body.items).toEqual([
      expect.objectContaining({ host: '127.0.0.1:9', state: 'open', consecutiveFailures: 1 }),
    ]);
    expect(typeof acme.body.items[0].openedAt).toBe('string');
    const none = await api.call('GET', '/scheduler/tenants/initech/circuits');
    expect(none.body).toEqual({ items: [] });
  });
});
