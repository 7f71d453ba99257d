import {
  CanActivate,
  Controller,
  DynamicModule,
  ExecutionContext,
  Get,
  Inject,
  Injectable,
  Module,
  Param,
  Req,
  UnauthorizedException,
  UseGuards,
} from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import {
  AdminAuthenticator,
  AdminAuthSettings,
  generateApiKey,
  hashApiKey,
  InvalidAdminAuthOptionsError,
  SchedulerAdminRequest,
} from '../../../lib/integrations/admin/auth';
import { AdminHttpApp, PLATFORMS, startAdminHttpApp } from './admin-http';

/*
 * AdminAuthenticator behind a small probe controller shaped like the admin routes (a `:tenantId`
 * route and an admin route), on Express and on Fastify: 401/403/429 answers, the principal, the
 * app's own guard, rate limits per key, and keys never logged. The admin module's own routes,
 * with the tenant checks, against a real redis-server: admin-isolation.spec.ts.
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

const AUTHENTICATOR = Symbol('probe-authenticator');

/** Runs the authenticator as the admin module's guard does. */
@Injectable()
class ProbeGuard implements CanActivate {
  constructor(@Inject(AUTHENTICATOR) private readonly authenticator: AdminAuthenticator) {}

  canActivate(context: ExecutionContext): Promise<boolean> {
    return this.authenticator.canActivate(context);
  }
}

@Controller('scheduler')
@UseGuards(ProbeGuard)
class ProbeController {
  @Get('tenants/:tenantId/schedules')
  list(@Param('tenantId') tenantId: string, @Req() request: SchedulerAdminRequest) {
    return { tenantId, principal: request.schedulerPrincipal };
  }

  @Get('tenants')
  tenants(@Req() request: SchedulerAdminRequest) {
    return { principal: request.schedulerPrincipal };
  }
}

/** The app's own routes, outside the admin module: the admin guard and its limits never apply. */
@Controller('app')
class AppController {
  @Get('ping')
  ping() {
    return { ok: true };
  }
}

@Module({})
class ProbeAdminModule {
  static forRoot(settings: AdminAuthSettings): DynamicModule {
    return {
      module: ProbeAdminModule,
      controllers: [ProbeController],
      providers: [
        {
          provide: AUTHENTICATOR,
          useFactory: (moduleRef: ModuleRef) => AdminAuthenticator.create(settings, moduleRef),
          inject: [ModuleRef],
        },
        ProbeGuard,
      ],
    };
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

const apps: AdminHttpApp[] = [];
async function start(platform: (typeof PLATFORMS)[number], settings: AdminAuthSettings) {
  const app = await startAdminHttpApp(platform, {
    imports: [ProbeAdminModule.forRoot(settings)],
    controllers: [AppController],
  });
  apps.push(app);
  return app;
}
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

describe.each(PLATFORMS)('AdminAuthenticator on %s', (platform) => {
  it('answers 401 UNAUTHENTICATED with WWW-Authenticate: Bearer without a valid key', async () => {
    const app = await start(platform, { auth: KEYS });
    const attempts = [
      {},
      { key: generateApiKey() },
      { apiKey: generateApiKey() },
      { key: '' },
      { key: hashApiKey(ACME_KEY) },
      { headers: { authorization: `Basic ${ACME_KEY}` } },
      { headers: { authorization: `Bearer ${ACME_KEY} extra` } },
    ];
    for (const attempt of attempts) {
      const answer = await app.call('GET', '/scheduler/tenants/acme/schedules', attempt);
      expect({ attempt, status: answer.status }).toEqual({ attempt, status: 401 });
      expect(answer.headers.get('www-authenticate')).toBe('Bearer');
      expect(answer.body).toMatchObject({ statusCode: 401, code: 'UNAUTHENTICATED' });
    }
  });

  it('attaches the principal of a key sent as Bearer or X-API-Key', async () => {
    const app = await start(platform, { auth: KEYS });
    const admin = await app.call('GET', '/scheduler/tenants/globex/schedules', { key: ADMIN_KEY });
    expect(admin).toMatchObject({ status: 200, body: { principal: { kind: 'admin' } } });
    const own = await app.call('GET', '/scheduler/tenants/acme/schedules', { apiKey: ACME_KEY });
    expect(own).toMatchObject({
      status: 200,
      body: { tenantId: 'acme', principal: { kind: 'tenant', tenantId: 'acme' } },
    });
    const lower = await app.call('GET', '/scheduler/tenants/acme/schedules', {
      headers: { authorization: `bearer ${ACME_KEY}` },
    });
    expect(lower.status).toBe(200);
    expect((await app.call('GET', '/scheduler/tenants', { key: ADMIN_KEY })).status).toBe(200);
  });

  it('never logs a key, on refused and on accepted requests', async () => {
    const app = await start(platform, { auth: KEYS });
    const stranger = generateApiKey();
    await app.call('GET', '/scheduler/tenants/acme/schedules', { key: stranger });
    await app.call('GET', '/scheduler/tenants/globex/schedules', { apiKey: ACME_KEY });
    await app.call('GET', '/scheduler/tenants/acme/schedules', { key: ACME_KEY });
    await app.call('GET', '/scheduler/tenants', { key: ADMIN_KEY });
    expect(app.logs.length).toBeGreaterThan(0); // the capture works: Nest logged its boot
    const logged = app.logs.join('\n');
    for (const secret of [stranger, ACME_KEY, ADMIN_KEY, hashApiKey(ACME_KEY).slice(7)]) {
      expect(logged).not.toContain(secret);
    }
  });

  it('limits requests per key: 429 RATE_LIMITED with Retry-After, other keys unaffected', async () => {
    const app = await start(platform, { auth: KEYS, rateLimit: { limit: 3, ttlMs: 60_000 } });
    const path = '/scheduler/tenants/acme/schedules';
    for (let i = 0; i < 3; i++)
      expect((await app.call('GET', path, { key: ACME_KEY })).status).toBe(200);
    const limited = await app.call('GET', path, { apiKey: ACME_KEY });
    expect(limited.status).toBe(429);
    expect(limited.body).toMatchObject({ statusCode: 429, code: 'RATE_LIMITED' });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(limited.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    // Another key, from the same address: its own budget.
    const other = await app.call('GET', '/scheduler/tenants/globex/schedules', { key: GLOBEX_KEY });
    expect(other.status).toBe(200);
    expect(other.headers.get('x-ratelimit-remaining')).toBe('2');
    expect((await app.call('GET', '/scheduler/tenants', { key: ADMIN_KEY })).status).toBe(200);
    // The app's own routes are not the admin module's: never limited.
    for (let i = 0; i < 5; i++) expect((await app.call('GET', '/app/ping')).status).toBe(200);
    // The limited key stays limited on every admin route.
    expect((await app.call('GET', path, { key: ACME_KEY })).status).toBe(429);
  });

  it('limits requests without a valid key per address (guessing keys runs into 429)', async () => {
    const app = await start(platform, { auth: KEYS, rateLimit: { limit: 2, ttlMs: 60_000 } });
    const path = '/scheduler/tenants/acme/schedules';
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++)
      statuses.push((await app.call('GET', path, { key: generateApiKey() })).status);
    expect(statuses).toEqual([401, 401, 429, 429]);
    expect((await app.call('GET', path, { key: ACME_KEY })).status).toBe(200);
  });

  it("stops the rate limiter's timer when the app shuts down", async () => {
    const shutdown = jest.spyOn(AdminAuthenticator.prototype, 'onApplicationShutdown');
    try {
      const app = await start(platform, { auth: KEYS });
      await app.call('GET', '/scheduler/tenants', { key: ADMIN_KEY });
      await app.close();
      expect(shutdown).toHaveBeenCalledTimes(1);
    } finally {
      shutdown.mockRestore();
    }
  });

  it('does not limit with rateLimit: false', async () => {
    const app = await start(platform, { auth: KEYS, rateLimit: false });
    for (let i = 0; i < 20; i++) {
      const answer = await app.call('GET', '/scheduler/tenants/acme/schedules', { key: ACME_KEY });
      expect(answer.status).toBe(200);
      expect(answer.headers.get('x-ratelimit-limit')).toBeNull();
    }
  });

  it("uses the app's own guard and the principal it sets", async () => {
    const app = await start(platform, { auth: { guard: HeaderGuard } });
    const path = '/scheduler/tenants/acme/schedules';
    expect(await app.call('GET', path, { headers: { 'x-user': 'acme' } })).toMatchObject({
      status: 200,
      body: { principal: { kind: 'tenant', tenantId: 'acme' } },
    });
    expect(await app.call('GET', path, { headers: { 'x-user': 'globex' } })).toMatchObject({
      status: 200,
      body: { principal: { kind: 'tenant', tenantId: 'globex' } },
    });
    expect(
      await app.call('GET', '/scheduler/tenants', { headers: { 'x-user': 'root' } }),
    ).toMatchObject({
      status: 200,
      body: { principal: { kind: 'admin' } },
    });
    expect((await app.call('GET', path)).status).toBe(401); // its own UnauthorizedException
    expect(await app.call('GET', path, { headers: { 'x-user': 'nobody' } })).toMatchObject({
      status: 403,
      body: { code: 'FORBIDDEN' },
    });
    expect(await app.call('GET', path, { headers: { 'x-user': 'broken' } })).toMatchObject({
      status: 403,
      body: { code: 'FORBIDDEN' },
    });
  });

  it("takes the app's guard as an instance too", async () => {
    const app = await start(platform, { auth: { guard: new HeaderGuard() } });
    const answer = await app.call('GET', '/scheduler/tenants/globex/schedules', {
      headers: { 'x-user': 'acme' },
    });
    expect(answer).toMatchObject({
      status: 200,
      body: { principal: { kind: 'tenant', tenantId: 'acme' } },
    });
  });

  it('refuses to boot with a plain key in the options', async () => {
    const settings = { auth: { apiKeys: { admin: [ADMIN_KEY], tenants: {} } } };
    const boot = start(platform, settings);
    await expect(boot).rejects.toThrow(InvalidAdminAuthOptionsError);
    await expect(boot).rejects.toThrow('auth.apiKeys.admin[0]');
    await boot.catch((error: Error) => expect(error.message).not.toContain(ADMIN_KEY));
  });
});
