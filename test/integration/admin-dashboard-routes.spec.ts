import { RedisSchedulerModule } from '../../lib';
import { SchedulerAdminModule } from '../../lib/integrations/admin';
import { AdminApp, PLATFORMS, startAdminApp } from '../support/admin-app';
import { freshPrefix } from '../support/create-app';
import { RedisServerHandle, startRedisServer } from '../support/redis-server';

/*
 * The dashboard's routes on Express and Fastify (the browser test runs on Express): the page and
 * its files under a nested mount path, with no key, while the API stays guarded; and
 * `dashboard: false` turns them off.
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

const refuseAll = { canActivate: () => false };

async function start(platform: (typeof PLATFORMS)[number], dashboard?: boolean) {
  const app = await startAdminApp(platform, [
    RedisSchedulerModule.forRoot({ redis: redis.url, keyPrefix: freshPrefix() }),
    SchedulerAdminModule.forRoot({ path: 'ops/scheduler', auth: { guard: refuseAll }, dashboard }),
  ]);
  apps.push(app);
  return app;
}

describe.each(PLATFORMS)('the dashboard routes on %s', (platform) => {
  it('serve the page (CSP, <base> at the mount path) and its files without a key', async () => {
    const { url } = await start(platform);
    const page = await fetch(`${url}/ops/scheduler?x=1`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toMatch(/^default-src 'self'; /);
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    const html = await page.text();
    expect(html).toContain('<base href="/ops/scheduler/" />');
    expect(html).toContain('<script type="module" src="assets/app.js"></script>');

    const types = {
      'app.js': 'text/javascript; charset=utf-8',
      'dashboard.css': 'text/css; charset=utf-8',
      'icon.svg': 'image/svg+xml',
    };
    for (const [name, type] of Object.entries(types)) {
      const asset = await fetch(`${url}/ops/scheduler/assets/${name}`);
      expect([name, asset.status, asset.headers.get('content-type')]).toEqual([name, 200, type]);
      expect((await asset.arrayBuffer()).byteLength).toBeGreaterThan(100);
    }
    for (const name of ['index.html', 'missing.js', '..%2F..%2Fpackage.json', '.%2Fapp.js']) {
      const missing = await fetch(`${url}/ops/scheduler/assets/${name}`);
      expect([name, missing.status]).toEqual([name, 404]);
      expect(await missing.json()).toMatchObject({ statusCode: 404, code: 'NOT_FOUND' });
    }
    // The API behind the page still needs its guard.
    expect((await fetch(`${url}/ops/scheduler/tenants/acme/schedules`)).status).toBe(403);
  });

  it('answer 404 with dashboard: false, the API staying mounted', async () => {
    const { url } = await start(platform, false);
    for (const path of ['/ops/scheduler', '/ops/scheduler/assets/app.js']) {
      const reply = await fetch(`${url}${path}`);
      expect([path, reply.status]).toEqual([path, 404]);
      expect(await reply.json()).toMatchObject({ code: 'NOT_FOUND' });
    }
    expect((await fetch(`${url}/ops/scheduler/openapi.json`)).status).toBe(200);
  });
});
