import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Injectable, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { RedisSchedulerModule, ScheduleHandler, SchedulerService } from '../../lib';
import { generateApiKey, hashApiKey, SchedulerAdminModule } from '../../lib/integrations/admin';
import { HttpTargetsModule } from '../../lib/integrations/http';
import { freshPrefix } from '../support/create-app';
import { RedisServerHandle, startRedisServer } from '../support/redis-server';
import { sleep, waitFor } from '../support/wait-for';

/*
 * The dashboard (issue 13, item 4) in Debian's Chromium driven by playwright-core: a real
 * redis-server, a real Nest app with the admin module (its API-key guard) and HTTP targets on a
 * free port, a real HTTP target that fails, keyboard only, live updates without reloading, and
 * no request that leaves the service.
 */

const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
const ARTIFACTS = join(__dirname, '..', 'artifacts');
const ADMIN_KEY = generateApiKey();
const ACME_KEY = generateApiKey();
const DEADLINE = { timeoutMs: 10_000 };

@Injectable()
class Work {
  @ScheduleHandler('demo.work')
  async work(): Promise<void> {}
}

let redis: RedisServerHandle;
let target: Server;
/** `127.0.0.1:<port>` of `target`, as the circuits table names it. */
let targetHost: string;
/** An HTTP target that never answers: its calls time out. */
let silent: Server;
let app: INestApplication;
let scheduler: SchedulerService;
let origin: string;
let profile: string;
let browser: BrowserContext;
let page: Page;
const requests: string[] = [];
/** When each finished request started (ms since the epoch, the browser's clock). */
const startTimes: number[] = [];
let loads = 0;
const pageErrors: string[] = [];

beforeAll(async () => {
  redis = await startRedisServer();
  // An HTTP target that is down: every call gets a 503.
  target = createServer((_request, response) => response.writeHead(503).end('down'));
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  targetHost = `127.0.0.1:${(target.address() as AddressInfo).port}`;
  const targetUrl = `http://${targetHost}/hook`;
  silent = createServer(() => undefined);
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/hook`;

  const module = await Test.createTestingModule({
    imports: [
      RedisSchedulerModule.forRoot({
        redis: redis.url,
        keyPrefix: freshPrefix(),
        tenantGuards: { maxSchedulesPerTenant: 0, minIntervalMs: 0, maxPayloadBytes: 0 },
      }),
      HttpTargetsModule.forRoot({
        allow: ['*'],
        allowLoopback: true,
        breaker: { failureThreshold: 1 },
      }),
      SchedulerAdminModule.forRoot({
        path: 'scheduler',
        auth: {
          apiKeys: { admin: [hashApiKey(ADMIN_KEY)], tenants: { acme: [hashApiKey(ACME_KEY)] } },
        },
      }),
    ],
    providers: [Work],
  }).compile();
  app = module.createNestApplication({ logger: process.env.TEST_LOGS ? undefined : false });
  await app.listen(0, '127.0.0.1');
  origin = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  scheduler = app.get(SchedulerService);
  const yearly = { cron: '0 0 1 1 *', handler: 'demo.work' };
  await scheduler.upsert({ tenantId: 'acme', id: 'alpha', ...yearly });
  await scheduler.upsert({ tenantId: 'acme', id: 'beta', every: '1h', handler: 'demo.work' });
  await scheduler.upsert({
    tenantId: 'acme',
    id: 'webhook',
    cron: '0 0 1 1 *',
    handler: 'http',
    payload: { url: targetUrl, method: 'POST' },
  });
  await scheduler.upsert({
    tenantId: 'acme',
    id: 'slow',
    cron: '0 0 1 1 *',
    handler: 'http',
    payload: { url: silentUrl, method: 'POST', timeoutMs: 300 },
  });
  await scheduler.upsert({ tenantId: 'globex', id: 'secret', ...yearly });

  profile = await mkdtemp(join(tmpdir(), 'dashboard-chromium-'));
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
    viewport: { width: 1280, height: 860 },
  });
  browser.on('request', (request) => requests.push(request.url()));
  browser.on('requestfinished', (request) => startTimes.push(request.timing().startTime));
  page = browser.pages()[0] ?? (await browser.newPage());
  page.on('load', () => loads++);
  page.on('pageerror', (error) => pageErrors.push(error.message));
  // Uncaught errors and console errors (a CSP violation is one), but for the 401 and 403 answers
  // the test asks for.
  page.on('console', (message) => {
    const expected = /^Failed to load resource: .* status of 40[13]/.test(message.text());
    if (message.type() === 'error' && !expected) pageErrors.push(message.text());
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  if (profile) await rm(profile, { recursive: true, force: true });
  await app?.close();
  await new Promise((resolve) => target?.close(resolve));
  silent?.closeAllConnections();
  await new Promise((resolve) => silent?.close(resolve));
  await redis?.stop();
});

// The page's globals, as the functions given to page.evaluate() use them (no DOM lib here).
declare const document: {
  activeElement: { id: string; textContent: string | null; tagName: string } | null;
  hidden: boolean;
  dispatchEvent(event: Event): boolean;
};
declare const sessionStorage: { length: number };
declare const localStorage: { length: number };

const row = (id: string) => page.locator(`#schedules tbody tr[data-schedule-id="${id}"]`);
const cell = (id: string, name: string) => row(id).locator(`td[data-cell="${name}"]`);
const text = async (selector: string) => (await page.locator(selector).textContent()) ?? '';

/** The accessible name (as text) of the focused element, and its id. */
function focused(): Promise<{ id: string; text: string; tag: string }> {
  return page.evaluate(() => {
    const element = document.activeElement;
    return {
      id: element?.id ?? '',
      text: element?.textContent?.trim() ?? '',
      tag: element?.tagName ?? '',
    };
  });
}

/** Presses Tab (Shift+Tab with `backward`) until the focused element's text is `name`. */
async function tabTo(name: string, { backward = false, max = 40 } = {}): Promise<void> {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press(backward ? 'Shift+Tab' : 'Tab');
    if ((await focused()).text === name) return;
  }
  throw new Error(
    `Tab never reached "${name}"; the focus is on ${JSON.stringify(await focused())}`,
  );
}

describe('the dashboard in a real browser', () => {
  it('serves the page with a strict CSP, its files, and nothing else, without a key', async () => {
    const response = await fetch(`${origin}/scheduler/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(response.headers.get('content-security-policy')).toMatch(/^default-src 'self'/);
    expect(await response.text()).toContain('<base href="/scheduler/" />');
    const script = await fetch(`${origin}/scheduler/assets/app.js`);
    expect([script.status, script.headers.get('content-type')]).toEqual([
      200,
      'text/javascript; charset=utf-8',
    ]);
    for (const name of ['index.html', '..%2Fdashboard-assets.ts', 'nope.js']) {
      expect((await fetch(`${origin}/scheduler/assets/${name}`)).status).toBe(404);
    }
  });

  it('signs in by keyboard with only a key; a wrong key is refused in the live region', async () => {
    await page.goto(`${origin}/scheduler/`);
    await tabTo('Skip to content', { max: 1 });
    await page.keyboard.press('Tab');
    expect((await focused()).id).toBe('api-key');
    await page.keyboard.type('not-a-key');
    await page.keyboard.press('Enter');
    await waitFor(async () => /not accepted/.test(await text('[role="alert"]')), DEADLINE);
    expect((await focused()).id).toBe('api-key');
    expect(await page.locator('#api-key').getAttribute('aria-invalid')).toBe('true');

    // No tenant id to type: the service says whose key it is (GET whoami).
    expect(await page.locator('#tenant-id').count()).toBe(0);
    await page.keyboard.press('Control+A');
    await page.keyboard.type(ACME_KEY);
    await page.keyboard.press('Tab');
    expect(await focused()).toMatchObject({ tag: 'BUTTON', text: 'Sign in' });
    await page.keyboard.press('Enter');
    await waitFor(() => row('webhook').isVisible(), { ...DEADLINE, message: 'rows shown' });
    expect(await page.locator('#schedules tbody tr').count()).toBe(4);
    expect(await text('#tenant-title')).toBe('Tenant acme');
    expect(await text('#who')).toBe('Tenant key (acme)');
    expect(await page.locator('#tenant-picker').isVisible()).toBe(false);
    expect(await text('[role="alert"]')).toBe('');
    expect(await cell('alpha', 'timing').textContent()).toBe('cron 0 0 1 1 * (UTC)');
    expect(await cell('alpha', 'state').textContent()).toBe('active');
    expect(await cell('beta', 'timing').textContent()).toBe('every 1h');
    expect(await cell('beta', 'next').locator('time').getAttribute('datetime')).toBe(
      (await scheduler.get('acme', 'beta'))?.nextFireAt?.toISOString(),
    );
    // The key is in this tab's session storage only.
    const storage = await page.evaluate(() => [sessionStorage.length, localStorage.length]);
    expect(storage).toEqual([1, 0]);
    expect(await browser.cookies()).toEqual([]);
  });

  it('pauses and resumes a schedule by keyboard, keeping the focus on its button', async () => {
    await tabTo('Pause alpha');
    await page.keyboard.press('Enter');
    await waitFor(async () => (await cell('alpha', 'state').textContent()) === 'paused', DEADLINE);
    expect((await scheduler.get('acme', 'alpha'))?.enabled).toBe(false);
    expect(await cell('alpha', 'next').textContent()).toBe('—');
    await waitFor(async () => (await focused()).text === 'Resume alpha', DEADLINE);
    await page.keyboard.press('Enter');
    await waitFor(async () => (await cell('alpha', 'state').textContent()) === 'active', DEADLINE);
    expect((await scheduler.get('acme', 'alpha'))?.enabled).toBe(true);
  });

  it('triggers a run and shows it, with outcome, duration and HTTP status, without reloading', async () => {
    const loadsBefore = loads;
    await tabTo('Trigger alpha');
    await page.keyboard.press('Enter');
    await waitFor(() => page.locator('#runs tbody tr').count(), {
      ...DEADLINE,
      message: 'the triggered run is listed',
    });
    const run = page.locator('#runs tbody tr').first();
    expect(await run.locator('td').nth(3).textContent()).toBe('succeeded');
    expect(await run.locator('td[data-cell="duration"]').textContent()).toMatch(
      /^\d+ ms$|^\d+\.\d s$/,
    );
    // A handler's own result (none here) is not an HTTP status.
    expect(await run.locator('td[data-cell="result"]').textContent()).toBe('—');
    expect(await text('#detail-title')).toBe('Schedule alpha');
    await waitFor(async () => /succeeded/.test((await cell('alpha', 'last').textContent()) ?? ''));

    // A failing run shows its error in the runs table and in the schedule's row.
    await tabTo('Trigger webhook');
    await page.keyboard.press('Enter');
    await waitFor(async () => (await text('#detail-title')) === 'Schedule webhook', DEADLINE);
    await waitFor(async () => /503/.test(await text('#runs tbody')), DEADLINE);
    const failed = page.locator('#runs tbody tr').first();
    expect(await failed.locator('td[data-cell="outcome"]').textContent()).toBe('failed');
    // The status the target answered, from the run's result ({ status, durationMs }).
    expect(await failed.locator('td[data-cell="result"]').textContent()).toBe('HTTP 503');
    await waitFor(async () => /503/.test((await cell('webhook', 'last').textContent()) ?? ''));
    // The target's host has its circuit open (failureThreshold 1), shown for the tenant.
    await waitFor(() => page.locator('#circuits').isVisible(), DEADLINE);
    // The tenant's schedules call two hosts (this one and the silent target's): find this one's
    // row by its exact host.
    const exactly = new RegExp(`^${targetHost.replaceAll('.', '\\.')}$`);
    const circuit = page.locator('#circuits tbody tr', {
      has: page.locator('th', { hasText: exactly }),
    });
    await waitFor(() => circuit.isVisible(), {
      ...DEADLINE,
      message: `a circuit row for ${targetHost}`,
    });
    // Its row may show first as the closed circuit of a host the tenant calls, until the next poll.
    await waitFor(async () => (await circuit.locator('td').first().textContent()) === 'open', {
      ...DEADLINE,
      message: "the tenant's circuit shown open",
    });
    expect(loads).toBe(loadsBefore);
  });

  it("shows 'timeout' for a target that does not answer within the call's timeoutMs", async () => {
    await tabTo('Trigger slow');
    await page.keyboard.press('Enter');
    await waitFor(async () => (await text('#detail-title')) === 'Schedule slow', DEADLINE);
    const run = page.locator('#runs tbody tr').first();
    await waitFor(() => run.isVisible(), { ...DEADLINE, message: 'the timed-out run is listed' });
    expect(await run.locator('td[data-cell="outcome"]').textContent()).toBe('failed');
    expect(await run.locator('td[data-cell="result"]').textContent()).toBe('timeout');
  });

  it('shows a schedule created after the page loaded, by itself', async () => {
    const loadsBefore = loads;
    const before = await text('#updated-at');
    await scheduler.upsert({ tenantId: 'acme', id: 'gamma', every: '30m', handler: 'demo.work' });
    await waitFor(() => row('gamma').isVisible(), { ...DEADLINE, message: 'gamma listed' });
    expect(await text('#updated-at')).not.toBe(before);
    expect(loads).toBe(loadsBefore);
  });

  it('pauses and resumes the tenant', async () => {
    await tabTo('Pause tenant', { backward: true });
    await page.keyboard.press('Enter');
    await waitFor(async () => (await cell('beta', 'state').textContent()) === 'tenant-paused');
    expect(await text('#tenant-state')).toBe('Tenant paused');
    expect(await text('[role="status"]')).toMatch(/Paused tenant acme \(5 schedules\)/);
    await tabTo('Resume tenant', { max: 1 });
    await page.keyboard.press('Enter');
    await waitFor(async () => (await cell('beta', 'state').textContent()) === 'active');
  });

  it('stops polling while the tab is hidden, and polls again when it shows', async () => {
    const hide = (hidden: boolean) =>
      page.evaluate((value) => {
        Object.defineProperty(document, 'hidden', { value, configurable: true });
        document.dispatchEvent(new Event('visibilitychange'));
      }, hidden);
    await hide(true);
    // A poll that started before the tab hid may still end: only later starts count.
    const hiddenAt = Date.now();
    await sleep(2_500); // proves that nothing happens: no poll in more than one interval
    expect(startTimes.filter((start) => start >= hiddenAt)).toEqual([]);
    expect(startTimes.length).toBeGreaterThan(10);
    expect(await text('#poll-state')).toMatch(/paused/);
    await hide(false);
    await waitFor(() => startTimes.some((start) => start >= hiddenAt), DEADLINE);
  });

  it('gives an admin key a tenant picker', async () => {
    await tabTo('Sign out', { backward: true });
    await page.keyboard.press('Enter');
    expect((await focused()).id).toBe('api-key');
    await page.keyboard.type(ADMIN_KEY);
    await page.keyboard.press('Enter');
    await waitFor(() => row('alpha').isVisible(), DEADLINE);
    await page.keyboard.press('Shift+Tab'); // from the tenant's title back to the picker
    expect((await focused()).id).toBe('tenant-select');
    await page.keyboard.press('ArrowDown');
    await waitFor(() => row('secret').isVisible(), DEADLINE);
    expect(await row('alpha').count()).toBe(0);
    // A reload keeps the session of this tab (sessionStorage): no key to type again.
    await page.reload();
    await waitFor(() => row('secret').isVisible(), DEADLINE);
    expect(await page.locator('#tenant-select').inputValue()).toBe('globex');
  });

  it('takes a screenshot, and sent no request outside the service', async () => {
    await page.selectOption('#tenant-select', 'acme');
    await waitFor(() => row('alpha').isVisible(), DEADLINE);
    await row('webhook').locator('button[data-action="select"]').click();
    await waitFor(() => page.locator('#runs tbody tr').count(), DEADLINE);
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });
    expect(requests.length).toBeGreaterThan(10);
    expect(requests.filter((url) => !url.startsWith(`${origin}/`))).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
