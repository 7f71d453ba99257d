import { Logger } from '@nestjs/common';
import { createApp, freshPrefix, TestApp } from '../support/create-app';
import { RedisServerHandle, startRedisServer } from '../support/redis-server';
import { behaviour, recordingHandlers, resetRecorder, runs } from '../fixtures/recorder';
import { waitFor } from '../support/wait-for';

/*
 * What a pod logs (issue 10, A7): a failed attempt that will be retried is one WARN line, only the
 * last failure is an ERROR with the stack, and the scheduler says once that it started and once
 * that it stopped.
 */

let server: RedisServerHandle;
beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(() => server.stop());

interface Line {
  message: string;
  stack?: unknown;
}
let warns: Line[];
let errors: Line[];
let logs: Line[];
beforeEach(() => {
  resetRecorder();
  warns = [];
  errors = [];
  logs = [];
  jest
    .spyOn(Logger.prototype, 'warn')
    .mockImplementation((message: unknown) => void warns.push({ message: String(message) }));
  jest
    .spyOn(Logger.prototype, 'error')
    .mockImplementation(
      (message: unknown, stack?: unknown) => void errors.push({ message: String(message), stack }),
    );
  jest
    .spyOn(Logger.prototype, 'log')
    .mockImplementation((message: unknown) => void logs.push({ message: String(message) }));
});
afterEach(() => jest.restoreAllMocks());

const open = { maxSchedulesPerTenant: 0, minIntervalMs: 0, maxPayloadBytes: 0 };

async function pod(): Promise<TestApp> {
  return createApp(
    { redis: server.url, keyPrefix: freshPrefix(), tenantGuards: open, partitions: 2 },
    [recordingHandlers('a')],
  );
}

const retried = { attempts: 2, backoff: 'fixed', delayMs: 200, jitter: false } as const;
const failedLines = (lines: Line[], attempt: number): Line[] =>
  lines.filter((l) => l.message.includes(`(attempt ${attempt}) failed`));

describe('run logs', () => {
  it('a failure that will be retried is one WARN line, and no ERROR', async () => {
    const app = await pod();
    try {
      behaviour.failAttempts = 1;
      await app.scheduler.upsert({
        tenantId: 'acme',
        id: 'job',
        cron: '* * * * * *',
        handler: 'record',
        retry: retried,
      });
      await waitFor(
        async () => (await app.scheduler.get('acme', 'job'))?.lastStatus === 'succeeded',
      );
      // Later fire times fail their first attempt too: this fire time's lines only.
      const at = new Date(runs[0].fireTime).toISOString();
      const warned = failedLines(warns, 1).filter((l) => l.message.includes(at));
      expect(warned).toHaveLength(1);
      const [failed, retryAt] = warned[0].message.split('; retrying at ');
      expect(failed).toBe(
        `Run of "job" for ${at} (attempt 1) failed: handler failed on purpose (attempt 1)`,
      );
      expect(Date.parse(retryAt)).toBeGreaterThan(runs[0].fireTime);
      expect(errors).toEqual([]);
    } finally {
      await app.close();
    }
  });

  it('the last failure is one ERROR line with the stack, and its retry before it a WARN', async () => {
    const app = await pod();
    try {
      behaviour.fail = true;
      await app.scheduler.upsert({
        tenantId: 'acme',
        id: 'job',
        cron: '* * * * * *',
        handler: 'record',
        retry: retried,
      });
      await waitFor(() => failedLines(errors, 2).length > 0, { message: 'final failure logged' });
      await app.scheduler.remove('acme', 'job');
      const fire = runs[0].fireTime;
      const final = failedLines(errors, 2).filter((l) =>
        l.message.includes(new Date(fire).toISOString()),
      );
      expect(final).toHaveLength(1);
      expect(final[0].message).toBe(
        `Run of "job" for ${new Date(fire).toISOString()} (attempt 2) failed: handler failed on purpose (attempt 2)`,
      );
      expect(String(final[0].stack)).toMatch(
        /^Error: handler failed on purpose \(attempt 2\)\n\s+at /,
      );
      expect(failedLines(errors, 1)).toEqual([]);
      expect(
        failedLines(warns, 1).filter((l) => l.message.includes(new Date(fire).toISOString())),
      ).toHaveLength(1);
    } finally {
      await app.close();
    }
  });

  it('says once that the scheduler started and once that it stopped', async () => {
    const app = await pod();
    const started = logs.filter((l) => l.message.startsWith('Scheduler started on pod '));
    expect(started).toHaveLength(1);
    expect(started[0].message).toMatch(
      /^Scheduler started on pod \S+: worker true, 2 partition\(s\), handlers: record$/,
    );
    await app.close();
    const stopped = logs.filter((l) => l.message.startsWith('Scheduler stopped on pod '));
    expect(stopped).toHaveLength(1);
    expect(stopped[0].message).toMatch(/^Scheduler stopped on pod \S+: 0 run\(s\) were in flight/);
    expect(logs.filter((l) => l.message.startsWith('Scheduler started'))).toHaveLength(1);
  });
});
