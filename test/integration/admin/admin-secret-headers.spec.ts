import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RedisSchedulerModule, SchedulerService } from '../../../lib';
import {
  ADMIN_ROUTES,
  generateApiKey,
  hashApiKey,
  REDACTED_HEADER_VALUE,
  SchedulerAdminModule,
} from '../../../lib/integrations/admin';
import { HttpTargetsModule } from '../../../lib/integrations/http';
import { freshPrefix } from '../../support/create-app';
import { RedisServerHandle, startRedisServer } from '../../support/redis-server';
import { waitFor } from '../../support/wait-for';
import { AdminHttpApp, Answer, PLATFORMS, startAdminHttpApp } from './admin-http';

/*
 * Header values of 'http' schedules are write-only over the admin API (Express and Fastify, a
 * real redis-server, a real HTTP target): every route of ADMIN_ROUTES answers without the secret
 * or its ciphertext, stored in plain text or encrypted; a body that sends the redaction marker
 * back is refused and the stored secret stays, still sent to the target; nothing is logged.
 */

const ADMIN_KEY = generateApiKey();
const ACME_KEY = generateApiKey();
const AUTH = {
  apiKeys: { admin: [hashApiKey(ADMIN_KEY)], tenants: { acme: [hashApiKey(ACME_KEY)] } },
};
const REDACTED = { Authorization: REDACTED_HEADER_VALUE, 'X-Trace': REDACTED_HEADER_VALUE };
/** What an envelope of an encrypted header value starts with (the http integration's format). */
const ENVELOPE = 'rsenc:';

let redis: RedisServerHandle;
let target: Server;
let targetUrl: string;
/** The headers of every call the target received. */
const received: IncomingHttpHeaders[] = [];

beforeAll(async () => {
  redis = await startRedisServer();
  target = createServer((request, response) => {
    received.push(request.headers);
    request.resume();
    response.writeHead(200).end('ok');
  });
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  targetUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}/hook`;
});

afterAll(async () => {
  await new Promise((resolve) => target?.close(resolve));
  await redis?.stop();
});

const MODES = [
  ['plain text', undefined],
  ['encrypted', [{ id: 'k1', key: randomBytes(32) }]],
] as const;

describe.each(PLATFORMS)('header values of HTTP targets on %s', (platform) => {
  describe.each(MODES)('stored in %s', (mode, encryptionKeys) => {
    let app: AdminHttpApp;
    let scheduler: SchedulerService;
    const secret = `s3cret-${randomUUID()}`;
    const newSecret = `n3w-${randomUUID()}`;
    const answers: Array<{ what: string; answer: Answer }> = [];

    const call = async (method: string, path: string, body?: unknown, key = ADMIN_KEY) => {
      const answer = await app.call(method, `/scheduler/${path}`, { key, body });
      answers.push({ what: `${method} ${path}`, answer });
      return answer;
    };
    const definition = (authorization: string, extra: object = {}) => ({
      cron: '0 0 1 1 *',
      handler: 'http',
      payload: { url: targetUrl, headers: { Authorization: authorization, 'X-Trace': 'trace' } },
      ...extra,
    });
    /** The Authorization header the target got on the last call after `before` calls. */
    async function triggerAndReceive(id: string): Promise<string | undefined> {
      const before = received.length;
      expect((await call('POST', `tenants/acme/schedules/${id}/trigger`)).status).toBe(202);
      await waitFor(() => received.length > before, { message: `the call of ${id}` });
      return received[received.length - 1].authorization;
    }

    beforeAll(async () => {
      app = await startAdminHttpApp(platform, {
        imports: [
          RedisSchedulerModule.forRoot({ redis: redis.url, keyPrefix: freshPrefix() }),
          HttpTargetsModule.forRoot({
            allow: ['*'],
            allowLoopback: true,
            ...(encryptionKeys && { encryptionKeys: [...encryptionKeys] }),
          }),
          SchedulerAdminModule.forRoot({ path: 'scheduler', auth: AUTH }),
        ],
      });
      scheduler = app.app.get(SchedulerService);
    });

    afterAll(async () => {
      await app?.close();
    });

    it(`stores the value ${mode === 'encrypted' ? 'as an envelope' : 'as sent'}, answers names with the marker`, async () => {
      const created = await call('POST', 'tenants/acme/schedules', {
        id: 'hook',
        ...definition(`Bearer ${secret}`),
      });
      expect(created.status).toBe(201);
      expect(created.body?.payload).toEqual({ url: targetUrl, method: 'POST', headers: REDACTED });
      const stored = (await scheduler.get('acme', 'hook'))?.payload as {
        headers: Record<string, string>;
      };
      if (encryptionKeys) expect(stored.headers.Authorization.startsWith(ENVELOPE)).toBe(true);
      else expect(stored.headers.Authorization).toBe(`Bearer ${secret}`);
      expect(await triggerAndReceive('hook')).toBe(`Bearer ${secret}`);
      await waitFor(async () => (await scheduler.history('acme', 'hook')).length > 0, {
        message: 'the run of hook recorded',
      });
    });

    it('refuses the marker sent back by PUT or POST (400 naming the header), keeping the secret', async () => {
      const read = await call('GET', 'tenants/acme/schedules/hook');
      const { handler, cron, payload } = read.body?.schedule as Record<string, unknown>;
      const storedBefore = (await scheduler.get('acme', 'hook'))?.payload;
      const roundTrip = await call('PUT', 'tenants/acme/schedules/hook', {
        handler,
        cron,
        payload: { ...(payload as object), url: `${targetUrl}?elsewhere` },
      });
      expect(roundTrip.status).toBe(400);
      expect(roundTrip.body).toMatchObject({
        code: 'VALIDATION_FAILED',
        field: 'payload.headers.Authorization',
      });
      expect(roundTrip.body?.message).toContain(REDACTED_HEADER_VALUE);
      const created = await call('POST', 'tenants/acme/schedules', {
        id: 'copy',
        ...definition(REDACTED_HEADER_VALUE),
      });
      expect(created.body).toMatchObject({
        statusCode: 400,
        field: 'payload.headers.Authorization',
      });
      expect(await scheduler.get('acme', 'copy')).toBeNull();
      // Nothing written: the same stored payload, and the target still gets the real secret.
      expect((await scheduler.get('acme', 'hook'))?.payload).toEqual(storedBefore);
      expect(await triggerAndReceive('hook')).toBe(`Bearer ${secret}`);
    });

    it('replaces the value with PUT and never answers it', async () => {
      const replaced = await call('PUT', 'tenants/acme/schedules/hook', definition(newSecret));
      expect(replaced.status).toBe(200);
      expect((replaced.body?.payload as { headers: object }).headers).toEqual(REDACTED);
      expect(await triggerAndReceive('hook')).toBe(newSecret);
    });

    it('leaves the secret and its ciphertext out of every answer of every route, and of the logs', async () => {
      await call('PUT', 'tenants/acme/schedules/other', definition(`Bearer ${secret}`));
      const stored = (await scheduler.get('acme', 'hook'))?.payload as {
        headers: Record<string, string>;
      };
      const routes = Object.values(ADMIN_ROUTES).filter((r) => r.method !== 'DELETE');
      const removal = Object.values(ADMIN_ROUTES).filter((r) => r.method === 'DELETE');
      for (const route of [...routes, ...removal]) {
        const path = route.path.replace(':tenantId', 'acme').replace(':id', 'hook');
        const body =
          route.method === 'POST' && route.path.endsWith('/schedules')
            ? { id: 'posted', ...definition(`Bearer ${secret}`) }
            : route.method === 'PUT'
              ? definition(newSecret)
              : undefined;
        for (const [who, key] of [
          ['admin', ADMIN_KEY],
          ['acme', ACME_KEY],
        ]) {
          const answer = await call(route.method, path, body, key);
          // Answered by the route itself (a 403 only for the tenant key on an admin route).
          expect({ path, who, status: answer.status }).toEqual({
            path,
            who,
            status: who === 'acme' && route.access === 'admin' ? 403 : expect.any(Number),
          });
          expect(answer.status).not.toBe(401);
          expect(answer.status).toBeLessThan(500);
        }
      }
      // Every answer of this file (every route, both keys), and the lines logged: no secret.
      expect(answers.length).toBeGreaterThan(2 * Object.keys(ADMIN_ROUTES).length);
      const schedules = answers.filter(({ answer }) => /"payload"/.test(answer.text));
      expect(schedules.length).toBeGreaterThan(8);
      for (const { what, answer } of answers) {
        for (const leaked of [secret, newSecret, stored.headers.Authorization, ENVELOPE]) {
          expect({ what, leaked: answer.text.includes(leaked) }).toEqual({ what, leaked: false });
        }
      }
      const logged = app.logs.join('\n');
      for (const leaked of [secret, newSecret, ENVELOPE]) expect(logged).not.toContain(leaked);
    });
  });
});
