import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { RedisSchedulerModule, ScheduleHandler } from '../../lib';
import { ADMIN_ROUTES, SchedulerAdminModule } from '../../lib/integrations/admin';
import { AdminApp, Platform, PLATFORMS, startAdminApp } from '../support/admin-app';
import { freshPrefix } from '../support/create-app';
import { RedisServerHandle, startRedisServer } from '../support/redis-server';
import { waitFor } from '../support/wait-for';

/*
 * The admin REST API in a real Nest app (Express and Fastify) listening on a free port, against a
 * real redis-server, driven with fetch. Auth here is an app guard (`auth: { guard }`) that takes
 * the principal from a header, so that the tenant scope is exercised too.
 */

const ran: Array<{ tenantId?: string; id: string }> = [];

@Injectable()
class ReportJobs {
  @ScheduleHandler('report')
  report(_payload: unknown, ctx: { tenantId?: string; scheduleId: string }): void {
    ran.push({ tenantId: ctx.tenantId, id: ctx.scheduleId });
  }
}

/** `x-test-principal: admin | tenant:<id>`; none: refused (403 from the guard). */
@Injectable()
class HeaderGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<{
      headers: Record<string, string | undefined>;
      schedulerPrincipal?: unknown;
    }>();
    const value = request.headers['x-test-principal'];
    if (value === 'admin') return true;
    if (value?.startsWith('tenant:')) {
      request.schedulerPrincipal = { kind: 'tenant', tenantId: value.slice(7) };
      return true;
    }
    return false;
  }
}

const ADMIN = { 'x-test-principal': 'admin' };
const DAILY = { handler: 'report', cron: '0 9 * * *', timeZone: 'Europe/Paris' };

let redis: RedisServerHandle;

beforeAll(async () => {
  redis = await startRedisServer();
});

afterAll(async () => {
  await redis?.stop();
});

describe.each(PLATFORMS)('admin API on %s', (platform: Platform) => {
  let api: AdminApp;
  const call = (method: string, path: string, body?: unknown, headers = ADMIN) =>
    api.call(method, `/scheduler${path}`, body, headers);

  beforeAll(async () => {
    api = await startAdminApp(
      platform,
      [
        RedisSchedulerModule.forRoot({
          redis: redis.url,
          keyPrefix: freshPrefix(),
          tenantGuards: { maxSchedulesPerTenant: 10 },
        }),
        SchedulerAdminModule.forRoot({ path: 'scheduler', auth: { guard: HeaderGuard } }),
      ],
      [ReportJobs],
    );
  });

  afterAll(async () => {
    await api?.close();
  });

  describe('POST /tenants/:tenantId/schedules', () => {
    it('creates a schedule (201, dates as ISO strings), then refuses the same id (409)', async () => {
      const created = await call('POST', '/tenants/acme/schedules', { id: 'daily', ...DAILY });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ tenantId: 'acme', id: 'daily', state: 'active' });
      expect(created.body.nextFireAt).toMatch(/^\d{4}-\d\d-\d\dT0[78]:00:00\.000Z$/);
      const again = await call('POST', '/tenants/acme/schedules', { id: 'daily', ...DAILY });
      expect(again.status).toBe(409);
      expect(again.body).toMatchObject({ statusCode: 409, code: 'SCHEDULE_EXISTS' });
    });

    it('creates a schedule once when the same id is POSTed concurrently (one 201, the rest 409)', async () => {
      const replies = await Promise.all(
        Array.from({ length: 6 }, () =>
          call('POST', '/tenants/racing/schedules', { id: 'same', ...DAILY }),
        ),
      );
      expect(replies.map((r) => r.status).sort()).toEqual([201, 409, 409, 409, 409, 409]);
    });

    it.each([
      ['an unknown field', { id: 'x', ...DAILY, colour: 'red' }, 'colour'],
      ['a wrong type', { id: 'x', ...DAILY, jitterMs: '5s' }, 'jitterMs'],
      ['a nested wrong value', { id: 'x', ...DAILY, retry: { attempts: 0 } }, 'retry.attempts'],
      ['a nested unknown field', { id: 'x', ...DAILY, retry: { tries: 2 } }, 'retry.tries'],
      ['a missing handler', { id: 'x', cron: '0 9 * * *' }, 'handler'],
      ['a missing id', { ...DAILY }, 'id'],
      ['an enum value', { id: 'x', ...DAILY, overlap: 'sometimes' }, 'overlap'],
      ['another tenant in the body', { id: 'x', tenantId: 'globex', ...DAILY }, 'tenantId'],
      ['a body that is not an object', [1, 2], 'body'],
    ])('answers 400 VALIDATION_FAILED naming the field for %s', async (_what, body, field) => {
      const reply = await call('POST', '/tenants/acme/schedules', body);
      expect(reply.status).toBe(400);
      expect(reply.body).toMatchObject({ statusCode: 400, code: 'VALIDATION_FAILED', field });
      expect(reply.body.message).toContain(field);
      expect((await call('GET', '/tenants/acme/schedules/x')).status).toBe(404);
    });

    it.each([
      ['application/x-www-form-urlencoded', 'id=x&handler=report'],
      ['text/plain', '{"id":"x","handler":"report","cron":"0 9 * * *"}'],
    ])('refuses a %s body with 415 UNSUPPORTED_MEDIA_TYPE', async (type, text) => {
      const reply = await fetch(`${api.url}/scheduler/tenants/acme/schedules`, {
        method: 'POST',
        headers: { ...ADMIN, 'content-type': type },
        body: text,
      });
      expect(reply.status).toBe(415);
      expect(await reply.json()).toMatchObject({ statusCode: 415, code: 'UNSUPPORTED_MEDIA_TYPE' });
    });

    it.each([
      ['a bad cron', { id: 'x', handler: 'report', cron: '61 * * * *' }, 'INVALID_CRON', 'cron'],
      [
        'an unknown zone',
        { id: 'x', ...DAILY, timeZone: 'Mars/Base' },
        'UNKNOWN_TIME_ZONE',
        'timeZone',
      ],
      ['an unknown handler', { id: 'x', ...DAILY, handler: 'nope' }, 'UNKNOWN_HANDLER', 'handler'],
      [
        'a short interval',
        { id: 'x', handler: 'report', every: '1s' },
        'INTERVAL_TOO_SHORT',
        'every',
      ],
      ['two timings', { id: 'x', ...DAILY, every: '1h' }, 'INVALID_TIMING', 'cron'],
      ['a bad id', { id: 'a:b', ...DAILY }, 'INVALID_IDENTIFIER', 'id'],
    ])('maps the scheduler error for %s to 400 and its code', async (_what, body, code, field) => {
      const reply = await call('POST', '/tenants/acme/schedules', body);
      expect(reply.status).toBe(400);
      expect(reply.body).toMatchObject({ statusCode: 400, code, field });
    });

    it('maps the tenant quota to 409 TENANT_QUOTA_EXCEEDED', async () => {
      for (let i = 0; i < 10; i++) {
        const reply = await call('POST', '/tenants/full/schedules', { id: `s${i}`, ...DAILY });
        expect(reply.status).toBe(201);
      }
      const over = await call('POST', '/tenants/full/schedules', { id: 's10', ...DAILY });
      expect(over.status).toBe(409);
      expect(over.body.code).toBe('TENANT_QUOTA_EXCEEDED');
    });
  });

  it('lists schedules a page at a time (GET .../schedules?limit=&cursor=)', async () => {
    for (const id of ['a', 'b', 'c']) {
      expect((await call('PUT', `/tenants/pages/schedules/${id}`, DAILY)).status).toBe(200);
    }
    const first = await call('GET', '/tenants/pages/schedules?limit=2');
    expect(first.status).toBe(200);
    expect(first.body.items.map((s: { id: string }) => s.id)).toEqual(['a', 'b']);
    expect(typeof first.body.cursor).toBe('string');
    const cursor = encodeURIComponent(first.body.cursor);
    const second = await call('GET', `/tenants/pages/schedules?limit=2&cursor=${cursor}`);
    expect(second.body).toEqual({ items: [expect.objectContaining({ id: 'c' })], cursor: null });
    const bad = await call('GET', '/tenants/pages/schedules?limit=0');
    expect(bad.body).toMatchObject({ statusCode: 400, code: 'VALIDATION_FAILED', field: 'limit' });
    const unknown = await call('GET', '/tenants/pages/schedules?page=2');
    expect(unknown.body).toMatchObject({ statusCode: 400, field: 'page' });
  });

  it('describes a schedule with its next fire times (?next=5), 404 for an unknown one', async () => {
    await call('PUT', '/tenants/acme/schedules/described', DAILY);
    const reply = await call('GET', '/tenants/acme/schedules/described?next=5');
    expect(reply.status).toBe(200);
    expect(reply.body.schedule).toMatchObject({ id: 'described', state: 'active' });
    expect(reply.body.nextFires).toHaveLength(5);
    const times = reply.body.nextFires.map((f: { fireTime: string }) => Date.parse(f.fireTime));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(reply.body.counters).toEqual({ runs: 0, failures: 0, skipped: 0 });
    expect(
      (await call('GET', '/tenants/acme/schedules/described?next=2')).body.nextFires,
    ).toHaveLength(2);
    const tooMany = await call('GET', '/tenants/acme/schedules/described?next=101');
    expect(tooMany.body).toMatchObject({ statusCode: 400, field: 'next' });
    const missing = await call('GET', '/tenants/acme/schedules/nothing');
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ statusCode: 404, code: 'SCHEDULE_NOT_FOUND' });
  });

  it("creates or replaces with PUT; an id in the body must be the path's", async () => {
    const created = await call('PUT', '/tenants/acme/schedules/put', DAILY);
    expect(created.status).toBe(200);
    const replaced = await call('PUT', '/tenants/acme/schedules/put', {
      ...DAILY,
      cron: '0 10 * * *',
    });
    expect(replaced.body).toMatchObject({ id: 'put', cron: '0 10 * * *' });
    const mismatch = await call('PUT', '/tenants/acme/schedules/put', { ...DAILY, id: 'other' });
    expect(mismatch.body).toMatchObject({ statusCode: 400, field: 'id' });
  });

  it('pauses and resumes a schedule, 404 for an unknown one', async () => {
    await call('PUT', '/tenants/acme/schedules/pausable', DAILY);
    const paused = await call('POST', '/tenants/acme/schedules/pausable/pause');
    expect(paused.status).toBe(200);
    expect(paused.body).toMatchObject({ state: 'paused', enabled: false, nextFireAt: null });
    const resumed = await call('POST', '/tenants/acme/schedules/pausable/resume');
    expect(resumed.body).toMatchObject({ state: 'active', enabled: true });
    expect(typeof resumed.body.nextFireAt).toBe('string');
    expect((await call('POST', '/tenants/acme/schedules/nothing/pause')).status).toBe(404);
    expect((await call('POST', '/tenants/acme/schedules/nothing/resume')).status).toBe(404);
  });

  it('triggers a run (202) whose record then shows in GET .../runs', async () => {
    await call('PUT', '/tenants/acme/schedules/triggered', DAILY);
    const trigger = await call('POST', '/tenants/acme/schedules/triggered/trigger');
    expect(trigger.status).toBe(202);
    expect(trigger.body).toMatchObject({ triggered: true });
    expect(trigger.body.idempotencyKey).toContain('t:acme:triggered@');
    const runs = await waitFor(
      async () => {
        const reply = await call('GET', '/tenants/acme/schedules/triggered/runs');
        return reply.body.items.length > 0 ? reply : undefined;
      },
      { message: 'the triggered run to be recorded' },
    );
    expect(runs.status).toBe(200);
    expect(runs.body.items[0]).toMatchObject({ status: 'succeeded', attempt: 1 });
    expect(ran).toContainEqual({ tenantId: 'acme', id: 'triggered' });
    await call('POST', '/tenants/acme/schedules/triggered/trigger');
    const both = await waitFor(
      async () => {
        const reply = await call('GET', '/tenants/acme/schedules/triggered/runs');
        return reply.body.items.length === 2 ? reply : undefined;
      },
      { message: 'the second triggered run to be recorded' },
    );
    const [newest, oldest] = both.body.items;
    expect(Date.parse(newest.fireTime)).toBeGreaterThan(Date.parse(oldest.fireTime));
    const limited = await call('GET', '/tenants/acme/schedules/triggered/runs?limit=1');
    expect(limited.body.items).toEqual([newest]);
    expect((await call('GET', '/tenants/acme/schedules/nothing/runs')).status).toBe(404);
    expect((await call('POST', '/tenants/acme/schedules/nothing/trigger')).status).toBe(404);
  });

  it('removes a schedule (204), then 404', async () => {
    await call('PUT', '/tenants/acme/schedules/doomed', DAILY);
    const removed = await call('DELETE', '/tenants/acme/schedules/doomed');
    expect(removed.status).toBe(204);
    expect(removed.body).toBeUndefined();
    expect((await call('GET', '/tenants/acme/schedules/doomed')).status).toBe(404);
    const again = await call('DELETE', '/tenants/acme/schedules/doomed');
    expect(again.body).toMatchObject({ statusCode: 404, code: 'SCHEDULE_NOT_FOUND' });
  });

  it('pauses and resumes a tenant ({ tenantId, schedules })', async () => {
    await call('PUT', '/tenants/pausing/schedules/one', DAILY);
    await call('PUT', '/tenants/pausing/schedules/two', DAILY);
    const paused = await call('POST', '/tenants/pausing/pause');
    expect(paused.status).toBe(200);
    expect(paused.body).toEqual({ tenantId: 'pausing', schedules: 2 });
    const one = await call('GET', '/tenants/pausing/schedules/one');
    expect(one.body.schedule).toMatchObject({ state: 'paused', tenantPaused: true });
    const resumed = await call('POST', '/tenants/pausing/resume');
    expect(resumed.body).toEqual({ tenantId: 'pausing', schedules: 2 });
  });

  it('lists tenants for an admin (GET /tenants) and every circuit (none without HTTP targets)', async () => {
    await call('PUT', '/tenants/listed/schedules/one', DAILY);
    const tenants = await call('GET', '/tenants?limit=1000');
    expect(tenants.status).toBe(200);
    expect(tenants.body.items).toContainEqual({ tenantId: 'listed', schedules: 1, paused: false });
    expect(await call('GET', '/circuits')).toMatchObject({ status: 200, body: { items: [] } });
    expect(await call('GET', '/tenants/listed/circuits')).toMatchObject({
      status: 200,
      body: { items: [] },
    });
  });

  it('refuses an invalid tenant id in the path with 400 INVALID_IDENTIFIER', async () => {
    const reply = await call('GET', '/tenants/a%7Bb/schedules');
    expect(reply.body).toMatchObject({
      statusCode: 400,
      code: 'INVALID_IDENTIFIER',
      field: 'tenantId',
    });
  });

  describe('with a tenant principal from the app guard', () => {
    const acme = { 'x-test-principal': 'tenant:acme' };

    beforeAll(async () => {
      expect((await call('PUT', '/tenants/globex/schedules/x', DAILY)).status).toBe(200);
    });

    it("reaches its own tenant's routes", async () => {
      expect((await call('GET', '/tenants/acme/schedules', undefined, acme)).status).toBe(200);
      const created = await call('PUT', '/tenants/acme/schedules/own', DAILY, acme);
      expect(created.status).toBe(200);
    });

    /** Every non-public route of the table, on tenant globex (schedule 'x' exists there). */
    const foreign = Object.entries(ADMIN_ROUTES)
      .filter(([, route]) => route.access !== 'public')
      .map(([operation, route]) => [
        operation,
        route.method,
        `/${route.path.replace(':tenantId', 'globex').replace(':id', 'x')}`,
      ]);

    it.each(foreign)(
      'gets 403 TENANT_FORBIDDEN on %s (%s %s) of another tenant, and changes nothing',
      async (_operation, method, path) => {
        const before = await call('GET', '/tenants/globex/schedules/x');
        expect(before.status).toBe(200);
        const body = method === 'POST' || method === 'PUT' ? { id: 'x', ...DAILY } : undefined;
        const reply = await call(method, path, body, acme);
        expect(reply.status).toBe(403);
        expect(reply.body).toMatchObject({ statusCode: 403, code: 'TENANT_FORBIDDEN' });
        const after = await call('GET', '/tenants/globex/schedules/x');
        expect(after.body).toEqual(before.body);
      },
    );

    it('is refused (403) when the app guard refuses, but the OpenAPI document needs no key', async () => {
      const refused = await call('GET', '/tenants/acme/schedules', undefined, {} as typeof ADMIN);
      expect(refused.status).toBe(403);
      expect(refused.body.code).toBe('FORBIDDEN');
      const doc = await call('GET', '/openapi.json', undefined, {} as typeof ADMIN);
      expect(doc.status).toBe(200);
    });
  });

  it('serves an OpenAPI 3.1 document listing exactly the mounted routes', async () => {
    const doc = (await call('GET', '/openapi.json')).body;
    expect(doc.openapi).toBe('3.1.0');
    const documented = Object.entries(doc.paths as Record<string, object>).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`),
    );
    // The dashboard's page and files are routes of the table too (public, not JSON).
    expect(api.routes).toEqual(
      expect.arrayContaining(['GET /scheduler', 'GET /scheduler/assets/:name']),
    );
    const mounted = api.routes.filter((r) => /^\/scheduler(\/|$)/.test(r.split(' ')[1]));
    expect([...mounted].sort()).toEqual([...documented].sort());
    expect(mounted.length).toBeGreaterThanOrEqual(15);
  });
});
