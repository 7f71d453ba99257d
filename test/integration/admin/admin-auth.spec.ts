import {
  CanActivate,
  Controller,
  ExecutionContext,
  Get,
  Injectable,
  UnauthorizedException,
} from '@nestjs/common';
import { RedisSchedulerModule } from '../../../lib';
import {
  generateApiKey,
  hashApiKey,
  InvalidAdminAuthOptionsError,
  SchedulerAdminModule,
  SchedulerAdminOptions,
  SchedulerAdminRequest,
} from '../../../lib/integrations/admin';
import { AdminAuthenticator } from '../../../lib/integrations/admin/auth';
import { freshPrefix } from '../../support/create-app';
import { RedisServerHandle, startRedisServer } from '../../support/redis-server';
import { AdminHttpApp, CallOptions, PLATFORMS, startAdminHttpApp } from './admin-http';

/*
 * Authentication and rate limiting of SchedulerAdminModule's routes (AdminAuthenticator behind
 * SchedulerAdminGuard), on Express and Fastify, against a real redis-server: 401 answers, API keys
 * as Bearer or X-API-Key, the app's own guard and the principal it sets, limits per key and per
 * address, keys never logged, options refused at boot. The cross-tenant sweep over every route:
 * admin-isolation.spec.ts.
 */

const ADMIN_KEY = generateApiKey();
const ACME_KEY = generateApiKey();
const GLOBEX_KEY = generateApiKey();
const KEYS = {
  apiKeys: {
    admin: [hashApiKey(ADMIN_KEY)],
    tenants: { acme: [hashApiKey(ACME_KEY)], globex: [hashApiKey(GLOBEX_KEY)] },
  },
};
const ACME = '/scheduler/tenants/acme/schedules';
const GLOBEX = '/scheduler/tenants/globex/schedules';
const TENANTS = '/scheduler/tenants';

/** The app's own route, outside the admin module: the admin guard and its limits never apply. */
@Controller('app')
class AppController {
  @Get('ping')
  ping() {
    return { ok: true };
  }
}

/** An app's own guard: `x-user: acme` is tenant acme, `x-user: root` admin (no principal set). */
@Injectable()
class HeaderGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context
      .switchToHttp()
      .getRequest<SchedulerAdminRequest & { headers: Record<string, string> }>();
    const user = request.headers['x-user'];
    if (user === undefined) throw new UnauthorizedException('who are you?');
    if (user === 'nobody') return false;
    if (user === 'broken') request.schedulerPrincipal = { kind: 'tenant' } as never;
    else if (user !== 'root') request.schedulerPrincipal = { kind: 'tenant', tenantId: user };
    return true;
  }
}

let server: RedisServerHandle;
beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  await server?.stop();
});

describe.each(PLATFORMS)('admin authentication on %s', (platform) => {
  let app: AdminHttpApp | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  async function start(options: SchedulerAdminOptions): Promise<AdminHttpApp> {
    app = await startAdminHttpApp(platform, {
      imports: [
        RedisSchedulerModule.forRoot({
          redis: server.url,
          keyPrefix: freshPrefix(),
          worker: false,
        }),
        SchedulerAdminModule.forRoot({ path: 'scheduler', ...options }),
      ],
      controllers: [AppController],
    });
    return app;
  }

  const status = async (path: string, options: CallOptions = {}, method = 'GET') =>
    (await (app as AdminHttpApp).call(method, path, options)).status;

  it('answers 401 UNAUTHENTICATED with WWW-Authenticate: Bearer without a valid key', async () => {
    const app = await start({ auth: KEYS });
    const attempts: CallOptions[] = [
      {},
      { key: generateApiKey() },
      { apiKey: generateApiKey() },
      { key: '' },
      { key: hashApiKey(ACME_KEY) },
      { key: ACME_KEY.slice(0, -1) },
      { headers: { authorization: `Basic ${ACME_KEY}` } },
      { headers: { authorization: `Bearer ${ACME_KEY} extra` } },
    ];
    for (const attempt of attempts) {
      const answer = await app.call('GET', ACME, attempt);
      expect({ attempt, status: answer.status }).toEqual({ attempt, status: 401 });
      expect(answer.headers.get('www-authenticate')).toBe('Bearer');
      expect(answer.body).toMatchObject({ statusCode: 401, code: 'UNAUTHENTICATED' });
    }
  });

  it('accepts a key as Bearer (any case) or X-API-Key, as its own principal', async () => {
    await start({ auth: KEYS });
    expect(await status(ACME, { key: ACME_KEY })).toBe(200);
    expect(await status(ACME, { apiKey: ACME_KEY })).toBe(200);
    expect(await status(ACME, { headers: { authorization: `bearer ${ACME_KEY}` } })).toBe(200);
    expect(await status(GLOBEX, { key: ACME_KEY })).toBe(403);
    expect(await status(TENANTS, { key: ACME_KEY })).toBe(403);
    expect(await status(GLOBEX, { apiKey: ADMIN_KEY })).toBe(200);
    expect(await status(TENANTS, { key: ADMIN_KEY })).toBe(200);
  });

  it('never logs a key, on refused and on accepted requests', async () => {
    const app = await start({ auth: KEYS });
    const stranger = generateApiKey();
    await app.call('GET', ACME, { key: stranger });
    await app.call('GET', GLOBEX, { apiKey: ACME_KEY });
    await app.call('POST', ACME, { key: ACME_KEY, body: { id: 'x', cron: 'nope', handler: 'h' } });
    await app.call('GET', ACME, { key: ACME_KEY });
    await app.call('GET', TENANTS, { key: ADMIN_KEY });
    expect(app.logs.join('\n')).toMatch(/SchedulerAdminModule|RoutesResolver/); // capture works
    const logged = app.logs.join('\n');
    for (const secret of [stranger, ACME_KEY, ADMIN_KEY, hashApiKey(ACME_KEY).slice(7)]) {
      expect(logged).not.toContain(secret);
    }
  });

  it('limits each key, then each address without a valid key; other keys keep theirs', async () => {
    const app = await start({ auth: KEYS, rateLimit: { limit: 3, ttlMs: 60_000 } });
    for (let i = 0; i < 3; i++) expect(await status(ACME, { key: ACME_KEY })).toBe(200);
    const limited = await app.call('GET', ACME, { apiKey: ACME_KEY });
    expect(limited).toMatchObject({ status: 429, body: { statusCode: 429, code: 'RATE_LIMITED' } });
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    const other = await app.call('GET', GLOBEX, { key: GLOBEX_KEY });
    expect(other.status).toBe(200);
    expect(other.headers.get('x-ratelimit-remaining')).toBe('2');
    // Guessing keys from one address: counted against the address, then refused with 429.
    const guesses: number[] = [];
    for (let i = 0; i < 4; i++) guesses.push(await status(ACME, { key: generateApiKey() }));
    expect(guesses).toEqual([401, 401, 401, 429]);
    // Neither limit reaches the admin key, nor the app's own routes.
    expect(await status(TENANTS, { key: ADMIN_KEY })).toBe(200);
    for (let i = 0; i < 5; i++) expect(await status('/app/ping')).toBe(200);
    expect(await status(ACME, { key: ACME_KEY })).toBe(429);
  });

  it('does not limit with rateLimit: false', async () => {
    const app = await start({ auth: KEYS, rateLimit: false });
    for (let i = 0; i < 20; i++) {
      const answer = await app.call('GET', ACME, { key: ACME_KEY });
      expect(answer.status).toBe(200);
      expect(answer.headers.get('x-ratelimit-limit')).toBeNull();
    }
  });

  it("stops the rate limiter's timer when the app shuts down", async () => {
    const shutdown = jest.spyOn(AdminAuthenticator.prototype, 'onApplicationShutdown');
    try {
      const app = await start({ auth: KEYS });
      await app.call('GET', TENANTS, { key: ADMIN_KEY });
      await app.close();
      expect(shutdown).toHaveBeenCalledTimes(1);
    } finally {
      shutdown.mockRestore();
    }
  });

  it("uses the app's own guard (class or instance) and the principal it sets", async () => {
    for (const guard of [HeaderGuard, new HeaderGuard()]) {
      const app = await start({ auth: { guard } });
      expect(await status(ACME, { headers: { 'x-user': 'acme' } })).toBe(200);
      const other = await app.call('GET', GLOBEX, { headers: { 'x-user': 'acme' } });
      expect(other).toMatchObject({ status: 403, body: { code: 'TENANT_FORBIDDEN' } });
      expect(await status(TENANTS, { headers: { 'x-user': 'acme' } })).toBe(403);
      expect(await status(TENANTS, { headers: { 'x-user': 'root' } })).toBe(200);
      expect(await app.call('GET', ACME)).toMatchObject({ status: 401 }); // its own exception
      for (const user of ['nobody', 'broken']) {
        const refused = await app.call('GET', ACME, { headers: { 'x-user': user } });
        expect(refused).toMatchObject({ status: 403, body: { code: 'FORBIDDEN' } });
      }
      await app.close();
    }
  });

  it("rate-limits the app's guard's callers per credential", async () => {
    await start({ auth: { guard: HeaderGuard }, rateLimit: { limit: 2, ttlMs: 60_000 } });
    const acme = { headers: { 'x-user': 'acme', authorization: 'Bearer acme-session' } };
    const globex = { headers: { 'x-user': 'globex', authorization: 'Bearer globex-session' } };
    expect([await status(ACME, acme), await status(ACME, acme), await status(ACME, acme)]).toEqual([
      200, 200, 429,
    ]);
    expect(await status(GLOBEX, globex)).toBe(200);
  });

  it("with auth: 'none' and allowUnauthenticated, every caller is admin", async () => {
    await start({ auth: 'none', allowUnauthenticated: true });
    expect(await status(TENANTS)).toBe(200);
    expect(await status(GLOBEX)).toBe(200);
  });

  it('takes the keys from forRootAsync and checks them there too', async () => {
    const boot = (admin: string[]) =>
      startAdminHttpApp(platform, {
        imports: [
          RedisSchedulerModule.forRoot({
            redis: server.url,
            keyPrefix: freshPrefix(),
            worker: false,
          }),
          SchedulerAdminModule.forRootAsync({
            path: 'scheduler',
            useFactory: async () => ({ auth: { apiKeys: { admin, tenants: {} } } }),
          }),
        ],
      });
    app = await boot([hashApiKey(ADMIN_KEY)]);
    expect(await status(TENANTS, { key: ADMIN_KEY })).toBe(200);
    expect(await status(TENANTS, { key: ACME_KEY })).toBe(401);
    await app.close();
    await expect(boot([ADMIN_KEY])).rejects.toThrow('auth.apiKeys.admin[0]');
  });

  it('refuses to boot with a plain key or a malformed hash, naming the entry', async () => {
    const plain = { apiKeys: { admin: [hashApiKey(ADMIN_KEY)], tenants: { acme: [ACME_KEY] } } };
    const boot = start({ auth: plain });
    await expect(boot).rejects.toThrow(InvalidAdminAuthOptionsError);
    await expect(boot).rejects.toThrow('auth.apiKeys.tenants["acme"][0]');
    await boot.catch((error: Error) => expect(error.message).not.toContain(ACME_KEY));
    const truncated = hashApiKey(ADMIN_KEY).slice(0, -1);
    const malformed = start({ auth: { apiKeys: { admin: [truncated], tenants: {} } } });
    await expect(malformed).rejects.toThrow('auth.apiKeys.admin[0]');
    await malformed.catch((error: Error) => expect(error.message).not.toContain(truncated));
  });
});
