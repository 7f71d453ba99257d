import { randomBytes } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LoggerService } from '@nestjs/common';
import { Test, TestingModule } from '@nestjs/testing';
import type { Redis } from 'ioredis';
import { RedisSchedulerModule, ScheduleInput, SchedulerEvents, SchedulerService } from '../../lib';
import {
  HttpTargetBreakers,
  HttpTargetNotAllowedError,
  HttpTargetsModule,
  HttpTargetsOptions,
  InvalidHttpTargetError,
} from '../../lib/integrations/http';
import { freePort } from '../support/free-port';
import { freshPrefix } from '../support/create-app';
import { RedisServerHandle, startRedisServer } from '../support/redis-server';
import { waitFor } from '../support/wait-for';

/*
 * The 'http' handler against a real redis-server and a real local HTTP target (node:http on
 * 127.0.0.1, so the module is booted with allowLoopback: true unless a test checks the refusal).
 */

const SECRET = `Bearer sk-${randomBytes(12).toString('hex')}`;
const KEY = randomBytes(32);

/** One request the target received. */
interface Hit {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
  /** The client went away before the response (aborted). */
  aborted: boolean;
  /** When it arrived (Date.now()). */
  at: number;
}

/** What the target answers: a status, after an optional delay (`hang`: never). */
type Answer = { status: number; delayMs?: number; location?: string } | 'hang';

let server: RedisServerHandle;
let client: Redis;
let target: Server;
let base: string;
const hits: Hit[] = [];
let answer: (hit: Hit, n: number) => Answer = () => ({ status: 200 });

/** Every line any app of this file logged, with its arguments (stacks included). */
const logged: string[] = [];
const captureLogger: LoggerService = {
  log: (...args: unknown[]) => void logged.push(args.map(String).join(' ')),
  error: (...args: unknown[]) => void logged.push(args.map(String).join(' ')),
  warn: (...args: unknown[]) => void logged.push(args.map(String).join(' ')),
  debug: (...args: unknown[]) => void logged.push(args.map(String).join(' ')),
  verbose: (...args: unknown[]) => void logged.push(args.map(String).join(' ')),
  fatal: (...args: unknown[]) => void logged.push(args.map(String).join(' ')),
};
/** Every error text the scheduler recorded or announced (dead letters, events, lastError). */
const recorded: string[] = [];

beforeAll(async () => {
  server = await startRedisServer();
  client = server.client();
  target = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const hit: Hit = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        aborted: false,
        at: Date.now(),
      };
      hits.push(hit);
      res.on('close', () => {
        if (!res.writableFinished) hit.aborted = true;
      });
      const a = answer(hit, hits.length);
      if (a === 'hang') return;
      const headers = a.location ? { location: a.location } : {};
      setTimeout(() => res.writeHead(a.status, headers).end('{}'), a.delayMs ?? 0);
    });
  });
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(target.address() as AddressInfo).port}`;
});

afterAll(async () => {
  target.closeAllConnections();
  await new Promise((resolve) => target.close(resolve));
  await server.stop();
});

const modules: TestingModule[] = [];
afterEach(async () => {
  await Promise.all(modules.splice(0).map((m) => m.close()));
  hits.length = 0;
  answer = () => ({ status: 200 });
});

interface Pod {
  module: TestingModule;
  scheduler: SchedulerService;
  breakers: HttpTargetBreakers;
  events: SchedulerEvents;
}

async function pod(prefix: string, http: Partial<HttpTargetsOptions> = {}): Promise<Pod> {
  const module = await Test.createTestingModule({
    imports: [
      RedisSchedulerModule.forRoot({
        redis: server.url,
        keyPrefix: prefix,
        tenantGuards: { maxSchedulesPerTenant: 0, minIntervalMs: 0, maxPayloadBytes: 0 },
        runHistory: 20,
      }),
      HttpTargetsModule.forRoot({
        allow: [`${base}/hooks/`],
        allowLoopback: true,
        encryptionKeys: [{ id: 'k1', key: KEY }],
        ...http,
      }),
    ],
  }).compile();
  module.useLogger(captureLogger);
  modules.push(module);
  await module.init();
  const events = module.get(SchedulerEvents);
  events.on('run.failed', (e) => recorded.push(e.error));
  events.on('run.retrying', (e) => recorded.push(e.error));
  return {
    module,
    scheduler: module.get(SchedulerService),
    breakers: module.get(HttpTargetBreakers),
    events,
  };
}

const hook = (
  over: Partial<ScheduleInput<unknown, 'http'>> = {},
): ScheduleInput<unknown, 'http'> => ({
  tenantId: 'acme',
  id: 'hook',
  cron: '* * * * * *',
  handler: 'http',
  payload: {
    url: `${base}/hooks/a?x=1`,
    method: 'PUT',
    headers: { Authorization: SECRET, 'X-Custom': 'c1' },
    body: { hello: 'world' },
  },
  ...over,
});

const fireOf = (hit: Hit): string => String(hit.headers['x-scheduler-fire-time']);
const ofFire = (fire: string): Hit[] => hits.filter((h) => fireOf(h) === fire);

async function lettersOf(p: Pod, tenantId = 'acme') {
  const letters = await p.scheduler.deadLetters(tenantId);
  for (const l of letters) recorded.push(l.error);
  return letters.length > 0 ? letters : null;
}

describe('calls', () => {
  it('calls the target exactly once per fire time across two pods, with the run’s headers', async () => {
    const prefix = freshPrefix();
    const [a, b] = [await pod(prefix), await pod(prefix)];
    const results: unknown[] = [];
    for (const p of [a, b]) p.events.on('run.succeeded', (e) => results.push(e.result));
    await a.scheduler.upsert(hook());
    await waitFor(() => new Set(hits.map(fireOf)).size >= 3, { message: 'three fire times' });
    await a.scheduler.pause('acme', 'hook');
    await waitFor(async () => (await a.scheduler.get('acme', 'hook'))?.running === false);
    const fires = [...new Set(hits.map(fireOf))];
    for (const fire of fires) expect(ofFire(fire)).toHaveLength(1);
    const [first, second] = hits;
    const fireMs = Date.parse(fireOf(first));
    expect(first).toMatchObject({ method: 'PUT', path: '/hooks/a?x=1', body: '{"hello":"world"}' });
    expect(first.headers).toMatchObject({
      authorization: SECRET,
      'x-custom': 'c1',
      'content-type': 'application/json',
      'idempotency-key': `t:acme:hook@${fireMs}`,
      'x-scheduler-attempt': '1',
    });
    expect(Number(second.headers['x-fencing-token'])).toBeGreaterThan(
      Number(first.headers['x-fencing-token']),
    );
    await waitFor(() => results.length >= 2);
    expect(results[0]).toEqual({ status: 200, durationMs: expect.any(Number) });
  });

  it('retries a 5xx per the retry policy: same idempotency key, larger fencing tokens', async () => {
    const p = await pod(freshPrefix());
    answer = (hit) => ({ status: hit.headers['x-scheduler-attempt'] === '3' ? 204 : 503 });
    await p.scheduler.upsert(
      hook({ retry: { attempts: 3, backoff: 'fixed', delayMs: 200, jitter: false } }),
    );
    const attempts = await waitFor(() => {
      const all = ofFire(fireOf(hits[0] ?? ({ headers: {} } as Hit)));
      return all.length >= 3 ? all : null;
    });
    await p.scheduler.pause('acme', 'hook');
    expect(attempts.map((h) => h.headers['x-scheduler-attempt'])).toEqual(['1', '2', '3']);
    expect(new Set(attempts.map((h) => h.headers['idempotency-key'])).size).toBe(1);
    const fences = attempts.map((h) => Number(h.headers['x-fencing-token']));
    expect(fences[1]).toBeGreaterThan(fences[0]);
    expect(fences[2]).toBeGreaterThan(fences[1]);
    const history = await waitFor(async () => {
      const h = (await p.scheduler.history('acme', 'hook')).reverse();
      return h.length >= 3 ? h : null;
    });
    expect(history.slice(0, 3).map((h) => h.status)).toEqual(['retry', 'retry', 'succeeded']);
  });

  it('does not retry a 4xx: one call, a dead letter naming the status', async () => {
    const p = await pod(freshPrefix());
    answer = () => ({ status: 400 });
    await p.scheduler.upsert(
      hook({ retry: { attempts: 3, backoff: 'fixed', delayMs: 100, jitter: false } }),
    );
    const [letter] = await waitFor(() => lettersOf(p));
    await p.scheduler.pause('acme', 'hook');
    expect(letter).toMatchObject({ attempts: 1, handler: 'http' });
    expect(letter.error).toMatch(
      /^PUT http:\/\/127\.0\.0\.1:\d+\/hooks\/a answered HTTP 400 after \d+ ms; not retried\.$/,
    );
    expect(ofFire(letter.fireTime.toISOString())).toHaveLength(1);
  });

  it('keeps each call’s status and duration in the run history and the dead letter', async () => {
    const p = await pod(freshPrefix());
    const failed: unknown[] = [];
    p.events.on('run.retrying', (e) => failed.push(e.result));
    p.events.on('run.failed', (e) => failed.push(e.result));
    // Per fire time: 503, then 200 on the retry; then 404 (not retried).
    answer = (hit, n) => ({ status: n === 1 ? 503 : n === 2 ? 200 : 404, delayMs: 20 });
    await p.scheduler.upsert(
      hook({ retry: { attempts: 2, backoff: 'fixed', delayMs: 100, jitter: false } }),
    );
    const [letter] = await waitFor(() => lettersOf(p));
    await p.scheduler.pause('acme', 'hook');
    const all = await p.scheduler.history('acme', 'hook'); // newest first
    const runs = [...all].reverse().slice(0, 3);
    expect(runs.map((r) => [r.status, r.result])).toEqual([
      ['retry', { status: 503, durationMs: expect.any(Number) }],
      ['succeeded', { status: 200, durationMs: expect.any(Number) }],
      ['failed', { status: 404, durationMs: expect.any(Number) }],
    ]);
    for (const r of runs) {
      expect((r.result as { durationMs: number }).durationMs).toBeGreaterThanOrEqual(19);
    }
    expect(letter.result).toEqual(runs[2].result);
    expect(failed.slice(0, 2)).toEqual([runs[0].result, runs[2].result]);
    const described = await p.scheduler.describe('acme', 'hook', { last: all.length });
    expect(described?.lastRuns.map((r) => r.result)).toEqual(all.map((r) => r.result));
  });

  it('keeps a timed-out call as { durationMs, timeout: true }', async () => {
    const p = await pod(freshPrefix());
    answer = () => ({ status: 200, delayMs: 3_000 });
    await p.scheduler.upsert(hook({ payload: { url: `${base}/hooks/slow`, timeoutMs: 300 } }));
    const [letter] = await waitFor(() => lettersOf(p));
    await p.scheduler.pause('acme', 'hook');
    const [run] = await p.scheduler.history('acme', 'hook');
    expect(run.status).toBe('failed');
    expect(run.result).toEqual({ durationMs: expect.any(Number), timeout: true });
    expect((run.result as { durationMs: number }).durationMs).toBeGreaterThanOrEqual(290);
    expect(letter.result).toEqual(run.result);
  });

  it('does not follow a redirect: one call, failed without retries', async () => {
    const p = await pod(freshPrefix());
    answer = () => ({ status: 302, location: `${base}/hooks/elsewhere` });
    await p.scheduler.upsert(
      hook({ retry: { attempts: 3, backoff: 'fixed', delayMs: 100, jitter: false } }),
    );
    const [letter] = await waitFor(() => lettersOf(p));
    await p.scheduler.pause('acme', 'hook');
    expect(letter).toMatchObject({ attempts: 1 });
    expect(letter.error).toMatch(/answered HTTP 302 after \d+ ms; not retried/);
    expect(hits.filter((h) => h.path === '/hooks/elsewhere')).toEqual([]);
  });

  it('retries a call that times out (the payload’s timeoutMs)', async () => {
    const p = await pod(freshPrefix());
    answer = () => ({ status: 200, delayMs: 3_000 });
    await p.scheduler.upsert(
      hook({
        payload: { url: `${base}/hooks/slow`, timeoutMs: 300 },
        retry: { attempts: 2, backoff: 'fixed', delayMs: 100, jitter: false },
      }),
    );
    const [letter] = await waitFor(() => lettersOf(p));
    await p.scheduler.pause('acme', 'hook');
    expect(letter).toMatchObject({ attempts: 2 });
    expect(letter.error).toMatch(
      /^POST http:\/\/127\.0\.0\.1:\d+\/hooks\/slow failed after \d+ ms: timed out\.$/,
    );
    expect(
      ofFire(letter.fireTime.toISOString()).map((h) => h.headers['x-scheduler-attempt']),
    ).toEqual(['1', '2']);
  });

  it('aborts the request when ctx.signal aborts (the schedule’s timeoutMs)', async () => {
    const p = await pod(freshPrefix());
    answer = () => 'hang';
    await p.scheduler.upsert(hook({ payload: { url: `${base}/hooks/hang` }, timeoutMs: 400 }));
    const hit = await waitFor(() => hits[0]);
    await p.scheduler.pause('acme', 'hook');
    // The target sees the connection closed by the client, long before the 10 s request timeout.
    await waitFor(() => hit.aborted, { timeoutMs: 5_000, message: 'the request to be aborted' });
    const [letter] = await waitFor(() => lettersOf(p));
    expect(letter.error).toMatch(/exceeded its timeoutMs of 400 ms/);
  });
});

describe('the module', () => {
  it('takes its options from forRootAsync, and refuses bad options at boot', async () => {
    const module = await Test.createTestingModule({
      imports: [
        RedisSchedulerModule.forRoot({ redis: server.url, keyPrefix: freshPrefix() }),
        HttpTargetsModule.forRootAsync({
          useFactory: async () => ({ allow: [`${base}/hooks/`], allowLoopback: true }),
        }),
      ],
    }).compile();
    module.useLogger(captureLogger);
    modules.push(module);
    await module.init();
    await module.get(SchedulerService).upsert(hook({ cron: '0 0 1 1 *' }));
    await expect(
      Test.createTestingModule({
        imports: [
          RedisSchedulerModule.forRoot({ redis: server.url, keyPrefix: freshPrefix() }),
          HttpTargetsModule.forRoot({ allow: ['ftp://example.com/'] }),
        ],
      }).compile(),
    ).rejects.toThrow(
      /Invalid HttpTargetsModule allow: "ftp:\/\/example.com\/" must be an http or https URL/,
    );
  });
});

describe('targets refused (SSRF)', () => {
  it.each([
    ['a private address', 'http://10.0.0.7/hooks/', /private network address/],
    ['a link-local address', 'http://169.254.3.4/hooks/', /link-local/],
    [
      'the cloud metadata address',
      'http://169.254.169.254/latest/meta-data/',
      /cloud metadata address/,
    ],
    [
      'the metadata host name',
      'http://metadata.google.internal/computeMetadata/v1/',
      /cloud metadata host/,
    ],
    ['IPv6 loopback mapped to IPv4', 'http://[::ffff:127.0.0.1]/hooks/', /loopback/],
  ])(
    'refuses %s at upsert (allow: ["*"], no network flag) and writes nothing',
    async (_, url, reason) => {
      const p = await pod(freshPrefix(), {
        allow: ['*'],
        allowPrivateNetworks: false,
        allowLinkLocal: false,
        allowLoopback: false,
      });
      const before = await client.dbsize();
      const error = await p.scheduler.upsert(hook({ payload: { url } })).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(HttpTargetNotAllowedError);
      expect((error as Error).message).toMatch(reason);
      expect(await client.dbsize()).toBe(before);
    },
  );

  it('refuses loopback unless allowLoopback, and a URL off the allow-list, at upsert', async () => {
    const p = await pod(freshPrefix(), { allowLoopback: false });
    await expect(p.scheduler.upsert(hook())).rejects.toThrow(
      /loopback address \(allow with allowLoopback: true\)/,
    );
    const allowed = await pod(freshPrefix());
    await expect(
      allowed.scheduler.upsert(hook({ payload: { url: `${base}/admin` } })),
    ).rejects.toThrow(HttpTargetNotAllowedError);
    await expect(
      allowed.scheduler.upsert(
        hook({ payload: { url: `${base}/hooks/`, method: 'TRACE' as 'GET' } }),
      ),
    ).rejects.toThrow(InvalidHttpTargetError);
    await expect(
      allowed.scheduler.upsert(hook({ payload: { url: 'gopher://127.0.0.1/hooks/' } })),
    ).rejects.toThrow(/scheme "gopher"/);
    expect(await allowed.scheduler.get('acme', 'hook')).toBeNull();
  });

  it('refuses a host name that resolves to a refused address when it calls, without retries', async () => {
    // `localhost` passes the upsert (no DNS there) and resolves to loopback at call time.
    const port = (target.address() as AddressInfo).port;
    const p = await pod(freshPrefix(), { allow: ['localhost'], allowLoopback: false });
    await p.scheduler.upsert(
      hook({
        payload: { url: `http://localhost:${port}/hooks/x` },
        retry: { attempts: 3, backoff: 'fixed', delayMs: 100, jitter: false },
      }),
    );
    const [letter] = await waitFor(() => lettersOf(p));
    await p.scheduler.pause('acme', 'hook');
    expect(letter.attempts).toBe(1);
    expect(letter.error).toMatch(
      /is not allowed: localhost resolved to (127\.0\.0\.1|::1): it is a loopback address/,
    );
    expect(hits).toEqual([]);
  });

  it('calls a listed host name that resolves to loopback when loopback is allowed', async () => {
    const port = (target.address() as AddressInfo).port;
    const p = await pod(freshPrefix(), { allow: ['localhost'] });
    await p.scheduler.upsert(hook({ payload: { url: `http://localhost:${port}/hooks/x` } }));
    await waitFor(() => hits.length > 0);
    await p.scheduler.pause('acme', 'hook');
    expect(hits[0].path).toBe('/hooks/x');
  });
});

describe('header values', () => {
  it('are stored encrypted: no key of the prefix holds the plaintext', async () => {
    const prefix = freshPrefix();
    const p = await pod(prefix);
    const schedule = await p.scheduler.upsert(hook({ cron: '0 0 1 1 *' }));
    expect((schedule.payload as { headers: Record<string, string> }).headers.Authorization).toMatch(
      /^rsenc:v1:k1:/,
    );
    const keys = await client.keys(`${prefix}*`);
    expect(keys.length).toBeGreaterThan(0);
    let dump = '';
    for (const key of keys) {
      const type = await client.type(key);
      if (type === 'hash') dump += JSON.stringify(await client.hgetall(key));
      else if (type === 'string') dump += await client.get(key);
      else if (type === 'zset') dump += (await client.zrange(key, '0', '-1')).join(',');
      else if (type === 'list') dump += (await client.lrange(key, '0', '-1')).join(',');
      else if (type === 'set') dump += (await client.smembers(key)).join(',');
    }
    expect(dump).toContain('rsenc:v1:k1:');
    expect(dump).toContain('X-Custom');
    expect(dump).not.toContain(SECRET.slice(7));
    expect(dump).not.toContain('c1"');
  });

  it('appear in no log line, error, dead letter or event, whatever the failure', async () => {
    const closedPort = await freePort();
    const p = await pod(freshPrefix(), { allow: ['*'] });
    answer = (hit) => ({ status: hit.path.includes('500') ? 500 : 401 });
    const retry = { attempts: 2, backoff: 'fixed' as const, delayMs: 100, jitter: false };
    const urls = [
      `${base}/hooks/500`,
      `${base}/hooks/401`,
      `http://127.0.0.1:${closedPort}/hooks/`,
    ];
    for (const [i, url] of urls.entries()) {
      await p.scheduler.upsert(
        hook({ id: `h${i}`, payload: { url, headers: { Authorization: SECRET } }, retry }),
      );
    }
    const bad = { url: `${base}/hooks/`, headers: { Authorization: `${SECRET}\n` } };
    const refusal = await p.scheduler
      .upsert(hook({ id: 'bad', payload: bad }))
      .catch((e: Error) => e.message);
    const letters = await waitFor(
      async () => {
        const all = (await lettersOf(p)) ?? [];
        return new Set(all.map((l) => l.scheduleId)).size === 3 ? all : null;
      },
      { message: 'a dead letter of each schedule' },
    );
    // 5xx and network errors were retried (2 attempts), the 401 was not.
    const attemptsOf = (id: string) => letters.find((l) => l.scheduleId === id)?.attempts;
    expect([attemptsOf('h0'), attemptsOf('h1'), attemptsOf('h2')]).toEqual([2, 1, 2]);
    for (const i of [0, 1, 2]) await p.scheduler.pause('acme', `h${i}`);
    const schedules = await p.scheduler.list('acme');
    const texts = [
      ...logged,
      ...recorded,
      String(refusal),
      ...schedules.map((s) => String(s.lastError)),
    ];
    expect(logged.some((line) => /HTTP 500/.test(line))).toBe(true);
    expect(recorded.some((line) => /ECONNREFUSED/.test(line))).toBe(true);
    expect(texts.filter((t) => t.includes(SECRET.slice(7)))).toEqual([]);
  });
});

describe('the circuit breaker', () => {
  it("is per tenant and host: another tenant's failures on a shared host neither open nor show", async () => {
    const p = await pod(freshPrefix(), { breaker: { failureThreshold: 2, coolDownMs: 60_000 } });
    const host = new URL(base).host;
    answer = (hit) => ({ status: hit.path.startsWith('/hooks/broken') ? 503 : 200 });
    // globex's schedule points at a failing endpoint of the host acme's schedule calls.
    await p.scheduler.upsert(
      hook({ tenantId: 'globex', id: 'bad', payload: { url: `${base}/hooks/broken` } }),
    );
    await waitFor(() => p.breakers.circuit('globex', host).state === 'open', {
      message: "globex's circuit to open",
    });
    await p.scheduler.upsert(hook({ payload: { url: `${base}/hooks/fine` } }));
    await waitFor(() => hits.filter((h) => h.path === '/hooks/fine').length >= 2, {
      message: "acme's calls to go through",
    });
    expect(p.breakers.circuit('acme', host)).toMatchObject({
      tenantId: 'acme',
      state: 'closed',
      consecutiveFailures: 0,
    });
    expect(p.breakers.circuits('acme')).toEqual([]);
    expect(p.breakers.circuits('globex')).toEqual([
      expect.objectContaining({ tenantId: 'globex', host, state: 'open', consecutiveFailures: 2 }),
    ]);
    expect(p.breakers.circuits()).toEqual(p.breakers.circuits('globex'));
  });

  it('opens after N failures, fails fast while open, probes after the cool-down and closes', async () => {
    const p = await pod(freshPrefix(), { breaker: { failureThreshold: 2, coolDownMs: 2_500 } });
    const host = new URL(base).host;
    const changes: unknown[] = [];
    p.events.on('target.circuit', (e) => changes.push(e));
    answer = () => ({ status: 503 });
    await p.scheduler.upsert(hook({ payload: { url: `${base}/hooks/b` } }));
    await waitFor(() => p.breakers.circuit('acme', host).state === 'open', {
      message: 'the circuit to open',
    });
    const callsWhenOpened = hits.length;
    expect(callsWhenOpened).toBe(2);
    const fastFailure = await waitFor(() =>
      recorded.find((e) => /Circuit open for 127\.0\.0\.1/.test(e)),
    );
    expect(fastFailure).toMatch(/is probed again from \d{4}-/);
    const opened = p.breakers.circuit('acme', host);
    expect(p.breakers.circuits()).toEqual([
      expect.objectContaining({
        tenantId: 'acme',
        host,
        state: 'open',
        consecutiveFailures: 2,
        retryAt: expect.any(Date),
      }),
    ]);
    answer = () => ({ status: 200 });
    await waitFor(() => p.breakers.circuit('acme', host).state === 'closed', {
      message: 'the probe to close it',
    });
    const { openedAt, retryAt } = opened;
    // No call while open; the first one after is the probe, made once the cool-down was over.
    const after = hits.slice(callsWhenOpened);
    expect(after.length).toBeGreaterThanOrEqual(1);
    expect(after[0].at).toBeGreaterThanOrEqual((retryAt as Date).getTime());
    expect((retryAt as Date).getTime() - (openedAt as Date).getTime()).toBe(2_500);
    await waitFor(() => hits.length >= callsWhenOpened + 2, {
      message: 'calls after the circuit closed',
    });
    await p.scheduler.pause('acme', 'hook');
    // Each change of state, once, as the 'target.circuit' event (metrics read it).
    expect(changes).toEqual([
      { tenantId: 'acme', host, state: 'open', consecutiveFailures: 2 },
      { tenantId: 'acme', host, state: 'half-open', consecutiveFailures: 2 },
      { tenantId: 'acme', host, state: 'closed', consecutiveFailures: 0 },
    ]);
  });
});
