import { startHttpTargetServer, HttpTargetServer } from '../support/http-target-server';
import { ServiceFleet, ServiceProcess, startServiceFleet } from './service-fleet';

/*
 * Issue 13, item 6: one tenant's API key reaches nothing of another tenant's, over HTTP, with the
 * schedule created on one service process and the other tenant's requests sent to the other.
 */

let fleet: ServiceFleet;
let a: ServiceProcess;
let b: ServiceProcess;
let target: HttpTargetServer;
let acmeKey: string;
let globexKey: string;

const SCHEDULE = '/tenants/acme/schedules/private';

beforeAll(async () => {
  target = await startHttpTargetServer();
  fleet = await startServiceFleet({
    tenants: ['acme', 'globex'],
    env: { HTTP_ALLOW: target.url },
  });
  [a, b] = fleet.services;
  acmeKey = fleet.tenantKeys.acme;
  globexKey = fleet.tenantKeys.globex;
  const body = {
    id: 'private',
    cron: '0 0 1 1 *', // once a year: only a trigger would call the target
    handler: 'http',
    payload: { url: `${target.url}private` },
  };
  const created = await a.api('POST', '/tenants/acme/schedules', { key: acmeKey, body });
  expect(created.status).toBe(201);
});
afterAll(async () => {
  await fleet?.stop();
  await target?.close();
});

describe("a tenant's key on another tenant's schedules, across two service processes", () => {
  const replacement = {
    cron: '* * * * * *',
    handler: 'http',
    payload: { url: `http://127.0.0.1:1/stolen` },
  };

  it.each([
    ['GET', '/tenants/acme/schedules'],
    ['GET', SCHEDULE],
    ['GET', `${SCHEDULE}?next=5`],
    ['PUT', SCHEDULE],
    ['DELETE', SCHEDULE],
    ['POST', `${SCHEDULE}/pause`],
    ['POST', `${SCHEDULE}/resume`],
    ['POST', `${SCHEDULE}/trigger`],
    ['GET', `${SCHEDULE}/runs?limit=50`],
    ['POST', '/tenants/acme/schedules'],
    ['POST', '/tenants/acme/pause'],
    ['POST', '/tenants/acme/resume'],
    ['GET', '/tenants/acme/circuits'],
  ])('%s %s is refused with 403', async (method, path) => {
    const body =
      method === 'PUT'
        ? replacement
        : method === 'POST' && path.endsWith('schedules')
          ? { id: 'x', ...replacement }
          : undefined;
    const response = await b.api(method, path, { key: globexKey, body });
    expect({ status: response.status, code: response.body?.code }).toEqual({
      status: 403,
      code: 'TENANT_FORBIDDEN',
    });
  });

  it('admin-only routes are refused to a tenant key', async () => {
    for (const path of ['/tenants', '/circuits']) {
      const response = await b.api('GET', path, { key: globexKey });
      expect(response.status).toBe(403);
    }
  });

  it("does not find the other tenant's schedule under its own tenant", async () => {
    const response = await b.api('GET', '/tenants/globex/schedules/private', { key: globexKey });
    expect({ status: response.status, code: response.body?.code }).toEqual({
      status: 404,
      code: 'SCHEDULE_NOT_FOUND',
    });
    const list = await b.api('GET', '/tenants/globex/schedules', { key: globexKey });
    expect(list.status).toBe(200);
    expect(list.body.items).toEqual([]);
  });

  it('changed nothing: the owner (and the admin) still see the schedule as created', async () => {
    const own = await a.api('GET', `${SCHEDULE}?next=5`, { key: acmeKey });
    expect(own.status).toBe(200);
    expect(own.body.schedule).toEqual(
      expect.objectContaining({
        tenantId: 'acme',
        id: 'private',
        cron: '0 0 1 1 *',
        enabled: true,
        state: 'active',
        tenantPaused: false,
        payload: { url: `${target.url}private`, method: 'POST' },
      }),
    );
    expect(own.body.schedule.updatedAt).toBe(own.body.schedule.createdAt);
    expect(own.body.nextFires).toHaveLength(5);
    const runs = await a.api('GET', `${SCHEDULE}/runs`, { key: acmeKey });
    expect(runs.body.items).toEqual([]);
    expect((await b.api('GET', SCHEDULE, { key: fleet.adminKey })).status).toBe(200);
    expect(target.calls).toEqual([]);
  });

  it('refuses a request without a key, or with an unknown one, with 401', async () => {
    for (const key of [undefined, 'not-a-key']) {
      const response = await b.api('GET', SCHEDULE, { key });
      expect(response.status).toBe(401);
    }
  });
});
