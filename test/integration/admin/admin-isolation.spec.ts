import { Injectable } from '@nestjs/common';
import {
  RedisSchedulerModule,
  ScheduleContext,
  ScheduleHandler,
  SchedulerService,
} from '../../../lib';
import {
  ADMIN_ROUTES,
  generateApiKey,
  hashApiKey,
  SchedulerAdminModule,
  type SchedulerAdminOptions,
} from '../../../lib/integrations/admin';
import { freshPrefix } from '../../support/create-app';
import { RedisServerHandle, startRedisServer } from '../../support/redis-server';
import { waitFor } from '../../support/wait-for';
import { AdminHttpApp, Answer, CallOptions, PLATFORMS, startAdminHttpApp } from './admin-http';

/*
 * Tenant isolation over the admin API (DESIGN §3 "Isolation"), on the real routes of
 * SchedulerAdminModule, a real redis-server, Express and Fastify: every route of the contract
 * (CONTRACT below, checked against the module's ADMIN_ROUTES) is tried with tenant globex's key on
 * tenant acme's data and refused, and acme's data, read through SchedulerService, is unchanged
 * afterwards. The admin key works everywhere; no or an unknown key gets 401; rate limits are per
 * key.
 */

/** The routes of issue 13's contract (admin-contract.md), relative to the module's path. */
const CONTRACT = [
  ['POST', 'tenants/:tenantId/schedules', 'tenant', 201],
  ['GET', 'tenants/:tenantId/schedules', 'tenant', 200],
  ['GET', 'tenants/:tenantId/schedules/:id', 'tenant', 200],
  ['PUT', 'tenants/:tenantId/schedules/:id', 'tenant', 200],
  ['DELETE', 'tenants/:tenantId/schedules/:id', 'tenant', 204],
  ['POST', 'tenants/:tenantId/schedules/:id/pause', 'tenant', 200],
  ['POST', 'tenants/:tenantId/schedules/:id/resume', 'tenant', 200],
  ['POST', 'tenants/:tenantId/schedules/:id/trigger', 'tenant', 202],
  ['GET', 'tenants/:tenantId/schedules/:id/runs', 'tenant', 200],
  ['POST', 'tenants/:tenantId/pause', 'tenant', 200],
  ['POST', 'tenants/:tenantId/resume', 'tenant', 200],
  ['GET', 'tenants/:tenantId/circuits', 'tenant', 200],
  ['GET', 'tenants', 'admin', 200],
  ['GET', 'circuits', 'admin', 200],
  ['GET', 'openapi.json', 'public', 200],
] as const;
type Route = (typeof CONTRACT)[number];

const ADMIN_KEY = generateApiKey();
const ACME_KEY = generateApiKey();
const GLOBEX_KEY = generateApiKey();
const AUTH = {
  apiKeys: {
    admin: [hashApiKey(ADMIN_KEY)],
    tenants: { acme: [hashApiKey(ACME_KEY)], globex: [hashApiKey(GLOBEX_KEY)] },
  },
};

/** Never fires by itself while the tests run (1 January, 00:00). */
const YEARLY = '0 0 1 1 *';
const HANDLER = 'probe.record';
const body = (id?: string, extra: object = {}) => ({
  ...(id === undefined ? {} : { id }),
  cron: YEARLY,
  handler: HANDLER,
  payload: { n: 1 },
  ...extra,
});

@Injectable()
class Probe {
  readonly runs: string[] = [];

  @ScheduleHandler(HANDLER)
  async record(_payload: unknown, ctx: ScheduleContext) {
    this.runs.push(`${ctx.tenantId}/${ctx.scheduleId}`);
  }
}

/** The path of `route` for `tenantId` and schedule `id`, under the module's path. */
function pathOf(route: Route, tenantId: string, id: string): string {
  return '/scheduler/' + route[1].replace(':tenantId', tenantId).replace(':id', id);
}

/** A body the route accepts (for schedule `id` when the body names one). */
function bodyOf(route: Route, id: string): unknown {
  if (route[0] === 'POST' && route[1] === 'tenants/:tenantId/schedules') return body(id);
  if (route[0] === 'PUT') return body(undefined, { payload: { n: 2 } });
  return undefined;
}

let server: RedisServerHandle;
beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  await server?.stop();
});

it('covers every route of the contract, with the access the contract gives it', () => {
  const table = Object.values(ADMIN_ROUTES)
    .map((r) => `${r.method} ${r.path} ${r.access} ${r.status}`)
    .filter((line) => !/^GET (assets\S*|) public/.test(line)); // the dashboard's page and files
  expect(table.sort()).toEqual(CONTRACT.map((r) => r.join(' ')).sort());
});

describe.each(PLATFORMS)('the admin API on %s', (platform) => {
  let app: AdminHttpApp;
  let scheduler: SchedulerService;
  let probe: Probe;

  async function boot(options: Partial<SchedulerAdminOptions> = {}) {
    app = await startAdminHttpApp(platform, {
      imports: [
        RedisSchedulerModule.forRoot({ redis: server.url, keyPrefix: freshPrefix() }),
        SchedulerAdminModule.forRoot({ path: 'scheduler', auth: AUTH, ...options }),
      ],
      providers: [Probe],
    });
    scheduler = app.app.get(SchedulerService);
    probe = app.app.get(Probe);
  }
  afterEach(async () => {
    await app?.close();
  });

  /** Everything SchedulerService says about `tenantId`'s data. */
  async function snapshot(tenantId: string) {
    const items = await scheduler.list(tenantId);
    const histories = await Promise.all(items.map((s) => scheduler.history(tenantId, s.id)));
    const tenants = await scheduler.tenants({ limit: 1_000 });
    return JSON.parse(
      JSON.stringify({
        items,
        histories,
        summary: tenants.items.find((t) => t.tenantId === tenantId) ?? null,
      }),
    ) as unknown;
  }

  /** acme: two schedules, one paused, one with a recorded run; globex: one schedule. */
  async function seed() {
    await scheduler.upsert({ tenantId: 'acme', id: 'a1', ...body() });
    await scheduler.upsert({ tenantId: 'acme', id: 'a2', ...body(), enabled: false });
    await scheduler.upsert({ tenantId: 'globex', id: 'g1', ...body() });
    await scheduler.trigger('acme', 'a1');
    await waitFor(async () => (await scheduler.history('acme', 'a1')).length === 1, {
      message: 'the run of acme/a1',
    });
  }

  const call = (route: Route, tenantId: string, id: string, options: CallOptions) =>
    app.call(route[0], pathOf(route, tenantId, id), { body: bodyOf(route, id), ...options });

  const refusedWith = (answer: Answer, status: number, code: string) => {
    expect({ status: answer.status, code: answer.body?.code }).toEqual({ status, code });
  };

  it("refuses tenant globex's key on every route of tenant acme, and changes nothing", async () => {
    await boot();
    await seed();
    const acmeBefore = await snapshot('acme');
    const globexBefore = await snapshot('globex');
    for (const route of CONTRACT.filter((r) => r[2] !== 'public')) {
      for (const id of ['a1', 'a2', 'missing', 'g1']) {
        const answer = await call(route, 'acme', id, { key: GLOBEX_KEY });
        expect({ route: route.join(' '), id, status: answer.status }).toEqual({
          route: route.join(' '),
          id,
          status: 403,
        });
        expect(answer.body).toMatchObject({ statusCode: 403, code: 'TENANT_FORBIDDEN' });
      }
      // The same through X-API-Key, and with the tenant id spelled differently.
      refusedWith(await call(route, 'acme', 'a1', { apiKey: GLOBEX_KEY }), 403, 'TENANT_FORBIDDEN');
      refusedWith(await call(route, 'ACME', 'a1', { key: GLOBEX_KEY }), 403, 'TENANT_FORBIDDEN');
    }
    // globex's own routes cannot reach acme's schedules either: ids are per tenant.
    const describe = await app.call('GET', '/scheduler/tenants/globex/schedules/a1', {
      key: GLOBEX_KEY,
    });
    refusedWith(describe, 404, 'SCHEDULE_NOT_FOUND');
    const smuggled = await app.call('POST', '/scheduler/tenants/globex/schedules', {
      key: GLOBEX_KEY,
      body: { ...body('smuggled'), tenantId: 'acme' },
    });
    expect(smuggled.status).toBe(400);
    expect(smuggled.body).toMatchObject({ code: 'VALIDATION_FAILED', field: 'tenantId' });
    const listed = await app.call('GET', '/scheduler/tenants/globex/schedules', {
      key: GLOBEX_KEY,
    });
    expect(listed.status).toBe(200);
    expect(JSON.stringify(listed.body)).not.toMatch(/"a1"|"a2"|"acme"/);

    expect(await snapshot('acme')).toEqual(acmeBefore);
    expect(await snapshot('globex')).toEqual(globexBefore);
    expect(await scheduler.get('acme', 'smuggled')).toBeNull();
    expect(probe.runs).toEqual(['acme/a1']);
  });

  it('answers 401 on every non-public route without a key or with an unknown one', async () => {
    await boot();
    await seed();
    const acmeBefore = await snapshot('acme');
    for (const route of CONTRACT.filter((r) => r[2] !== 'public')) {
      for (const options of [{}, { key: generateApiKey() }, { apiKey: hashApiKey(ACME_KEY) }]) {
        const answer = await call(route, 'acme', 'a1', options);
        refusedWith(answer, 401, 'UNAUTHENTICATED');
        expect(answer.headers.get('www-authenticate')).toBe('Bearer');
      }
    }
    expect((await app.call('GET', '/scheduler/openapi.json')).status).toBe(200);
    expect(await snapshot('acme')).toEqual(acmeBefore);
  });

  it("lets the admin key use every route, and a tenant's key its own tenant's", async () => {
    await boot();
    await seed();
    for (const [key, tenantId] of [
      [ADMIN_KEY, 'globex'],
      [ACME_KEY, 'acme'],
    ]) {
      const routes = CONTRACT.filter((r) => r[2] !== 'admin' || key === ADMIN_KEY);
      for (const route of routes) {
        // Create first, delete last: each route finds the schedule it needs.
        if (route[0] === 'DELETE') continue;
        const answer = await call(route, tenantId, 'made', { key });
        expect({ route: route.join(' '), status: answer.status }).toEqual({
          route: route.join(' '),
          status: route[3],
        });
        if (route[1].endsWith('/trigger')) {
          await waitFor(() => probe.runs.includes(`${tenantId}/made`), {
            message: `the run ${tenantId}/made triggered over the API`,
          });
        }
      }
      const removed = CONTRACT.find((r) => r[0] === 'DELETE') as Route;
      expect((await call(removed, tenantId, 'made', { key })).status).toBe(204);
      expect(await scheduler.get(tenantId, 'made')).toBeNull();
    }
    const tenants = await app.call('GET', '/scheduler/tenants', { key: ADMIN_KEY });
    expect(JSON.stringify(tenants.body)).toMatch(/acme/);
  });

  it('limits each key on its own: 429 RATE_LIMITED with Retry-After after the limit', async () => {
    await boot({ rateLimit: { limit: 3, ttlMs: 60_000 } });
    const own = '/scheduler/tenants/acme/schedules';
    for (let i = 0; i < 3; i++)
      expect((await app.call('GET', own, { key: ACME_KEY })).status).toBe(200);
    const limited = await app.call('GET', own, { key: ACME_KEY });
    refusedWith(limited, 429, 'RATE_LIMITED');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    // acme's key is limited on every route; globex's key and the admin key are not.
    refusedWith(
      await app.call('POST', '/scheduler/tenants/acme/pause', { key: ACME_KEY }),
      429,
      'RATE_LIMITED',
    );
    expect(
      (await app.call('GET', '/scheduler/tenants/globex/schedules', { key: GLOBEX_KEY })).status,
    ).toBe(200);
    expect((await app.call('GET', '/scheduler/tenants', { key: ADMIN_KEY })).status).toBe(200);
    expect(await scheduler.list('acme')).toEqual([]);
  });
});
