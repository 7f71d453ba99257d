import { Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { CronExpressionParser } from 'cron-parser';
import {
  InvalidOptionsError,
  NonRetryableError,
  ScheduleContext,
  ScheduleHandler,
} from '../../lib';
import { SchedulerEngine } from '../../lib/engine/scheduler.engine';
import { MAX_ERROR_LENGTH } from '../../lib/engine/run-executor';
import { createApp, freshPrefix, TestApp } from '../support/create-app';
import { RedisServerHandle, startRedisServer } from '../support/redis-server';
import { redisNow } from '../support/redis-time';
import {
  behaviour,
  everySecondStatic,
  recordingHandlers,
  resetRecorder,
  runs,
} from '../fixtures/recorder';
import { waitFor } from '../support/wait-for';

/*
 * describe(), describeStatic(), history() and historyStatic() against a real redis-server: the
 * upcoming fire times (nominal and with the jitter offset the engine arms), the last runs with
 * what a run record carries, and the counters kept by the script that records each run.
 */

let server: RedisServerHandle;
let redis: Redis;
beforeAll(async () => {
  server = await startRedisServer();
  redis = server.client();
});
afterAll(() => server.stop());

const LONG = 'x'.repeat(5_000);

@Injectable()
class LongFailure {
  @ScheduleHandler('long-failure')
  async fail(_payload: unknown, ctx: ScheduleContext): Promise<void> {
    runs.push({
      app: 'a',
      scheduleId: ctx.scheduleId,
      tenantId: ctx.tenantId,
      fireTime: ctx.fireTime.getTime(),
      attempt: ctx.attempt,
      fencingToken: ctx.fencingToken,
      startedAt: Date.now(),
      ctx,
    });
    throw new Error(LONG);
  }
}

@Injectable()
class CarryingFailure {
  @ScheduleHandler('carrying-failure')
  fail(): never {
    throw new NonRetryableError('refused by the target', {
      result: { status: 409, durationMs: 4 },
    });
  }
}

describe('describe and history', () => {
  let app: TestApp;
  beforeEach(async () => {
    resetRecorder();
    app = await createApp(
      {
        redis: server.url,
        keyPrefix: freshPrefix(),
        tenantGuards: { maxSchedulesPerTenant: 10, minIntervalMs: 0, maxPayloadBytes: 0 },
      },
      [recordingHandlers('a'), LongFailure, CarryingFailure, everySecondStatic('a', 'tick')],
    );
  });
  afterEach(() => app.close());

  it('keeps what a handler returns as its run’s result: at most 1 kB of JSON, never failing the run', async () => {
    // The n-th run returns results[n - 1]: too large and not serialisable are kept as null.
    const results = [{ ok: true, n: 1 }, 'x'.repeat(2_000), 10n, ['a', 'é']];
    behaviour.result = (ctx) => {
      const n = runs.filter((r) => r.scheduleId === ctx.scheduleId).length;
      return results[Math.min(n, results.length) - 1];
    };
    await app.scheduler.upsert({
      tenantId: 'acme',
      id: 'r',
      cron: '* * * * * *',
      handler: 'record',
    });
    const history = await waitFor(
      async () => {
        const h = await app.scheduler.history('acme', 'r');
        return h.length >= 4 ? h : null;
      },
      { message: 'four runs recorded' },
    );
    await app.scheduler.pause('acme', 'r');
    expect(
      [...history]
        .reverse()
        .slice(0, 4)
        .map((r) => [r.status, r.error, r.result]),
    ).toEqual([
      ['succeeded', null, { ok: true, n: 1 }],
      ['succeeded', null, null],
      ['succeeded', null, null],
      ['succeeded', null, ['a', 'é']],
    ]);
    const described = await app.scheduler.describe('acme', 'r', { last: 1 });
    expect(described?.lastRuns[0].result).toEqual(history[0].result);
  });

  it('keeps the result a failed handler’s error carries, in the history and the dead letter', async () => {
    await app.scheduler.upsert({
      tenantId: 'acme',
      id: 'refused',
      cron: '* * * * * *',
      handler: 'carrying-failure',
    });
    const [letter] = await waitFor(async () => {
      const letters = await app.scheduler.deadLetters('acme');
      return letters.length > 0 ? letters : null;
    });
    await app.scheduler.pause('acme', 'refused');
    expect(letter).toMatchObject({
      error: 'refused by the target',
      result: { status: 409, durationMs: 4 },
    });
    const [last] = (await app.scheduler.history('acme', 'refused')).reverse();
    expect(last).toMatchObject({
      status: 'failed',
      error: 'refused by the target',
      result: letter.result,
    });
  });

  it('gives the next fire times, nominal and with the jitter offset the engine arms', async () => {
    const schedule = await app.scheduler.upsert({
      tenantId: 'acme',
      id: 'weekly',
      cron: '0 9 * * 1',
      timeZone: 'Europe/Paris',
      handler: 'record',
      jitterMs: 30_000,
    });
    const described = await app.scheduler.describe('acme', 'weekly', { next: 5, last: 10 });
    expect(described?.schedule).toEqual(await app.scheduler.get('acme', 'weekly'));
    const fires = described!.nextFires;
    const expected = CronExpressionParser.parse('0 9 * * 1', {
      tz: 'Europe/Paris',
      currentDate: new Date(schedule.nextFireAt!.getTime() - 1),
    })
      .take(5)
      .map((d) => d.getTime());
    expect(fires.map((f) => f.fireTime.getTime())).toEqual(expected);
    for (const f of fires) {
      const offset = f.dueAt.getTime() - f.fireTime.getTime();
      expect(offset).toBeGreaterThanOrEqual(0);
      expect(offset).toBeLessThan(30_000);
    }
    // The first is what Redis holds: the due index score the engine claims at.
    const [member] = await redis.keys('*:due:h:record');
    expect(Number(await redis.zscore(member, 't:acme:weekly'))).toBe(fires[0].dueAt.getTime());
    expect(
      new Set(fires.map((f) => f.dueAt.getTime() - f.fireTime.getTime())).size,
    ).toBeGreaterThan(1);
    expect(described!.lastRuns).toEqual([]);
    expect(described!.counters).toEqual({ runs: 0, failures: 0, skipped: 0 });

    // Paused: nothing is going to fire.
    await app.scheduler.pause('acme', 'weekly');
    expect((await app.scheduler.describe('acme', 'weekly'))!.nextFires).toEqual([]);
    expect(await app.scheduler.describe('acme', 'nope')).toBeNull();
  });

  it('gives the last runs with start, end, duration, pod, attempt, fencing token, outcome and error, and the counters', async () => {
    behaviour.delayMs = 150;
    behaviour.failAttempts = 1;
    const engine = app.module.get(SchedulerEngine);
    await app.scheduler.upsert({
      tenantId: 'acme',
      id: 'job',
      cron: '* * * * * *',
      handler: 'record',
      retry: { attempts: 2, backoff: 'fixed', delayMs: 100, jitter: false },
    });
    const before = await redisNow(redis);
    await waitFor(
      async () => ((await app.scheduler.describe('acme', 'job'))?.counters.runs ?? 0) >= 4,
      { message: 'four recorded attempts' },
    );
    await app.scheduler.pause('acme', 'job');
    const d = (await app.scheduler.describe('acme', 'job', { last: 3 }))!;
    expect(d.lastRuns).toHaveLength(3);
    const all = await app.scheduler.history('acme', 'job');
    expect(all.slice(0, 3)).toEqual(d.lastRuns);
    // Each fire time fails once, then its retry succeeds: per attempt one record, newest first.
    const counters = d.counters;
    expect(counters.runs).toBe(all.length);
    expect(counters.failures).toBe(all.filter((r) => r.status === 'retry').length);
    expect(counters.failures).toBeGreaterThanOrEqual(2);
    for (const r of all) {
      expect(r.podId).toBe(engine.podId);
      expect(r.startedAt!.getTime()).toBeGreaterThanOrEqual(before - 50);
      expect(r.endedAt.getTime()).toBeGreaterThanOrEqual(r.startedAt!.getTime());
      expect(r.durationMs).toBe(r.endedAt.getTime() - r.startedAt!.getTime());
      expect(r.durationMs).toBeGreaterThanOrEqual(140);
      if (r.status === 'retry') {
        expect(r.attempt).toBe(1);
        expect(r.error).toBe('handler failed on purpose (attempt 1)');
      } else {
        expect([r.status, r.attempt, r.error]).toEqual(['succeeded', 2, null]);
      }
    }
    const sequences = all.map((r) => r.sequence);
    expect(sequences).toEqual([...sequences].sort((a, b) => b - a));
    const tokens = [...all].reverse().map((r) => r.fencingToken);
    expect(tokens).toEqual([...tokens].sort((a, b) => a - b));
  });

  it('cuts a long error message to its first 500 characters, in the history and the last error', async () => {
    await app.scheduler.upsert({
      tenantId: 'acme',
      id: 'long',
      cron: '* * * * * *',
      handler: 'long-failure',
    });
    const [record] = await waitFor(async () => {
      const h = await app.scheduler.history('acme', 'long');
      return h.length > 0 ? h : undefined;
    });
    await app.scheduler.pause('acme', 'long');
    expect(record.status).toBe('failed');
    expect(record.error).toBe(LONG.slice(0, MAX_ERROR_LENGTH));
    expect((await app.scheduler.get('acme', 'long'))!.lastError).toBe(record.error);
    expect((await app.scheduler.describe('acme', 'long'))!.counters).toMatchObject({
      failures: 1,
      runs: 1,
    });
  });

  it('describes a static schedule and gives its history', async () => {
    await waitFor(async () => (await app.scheduler.historyStatic('tick')).length >= 2, {
      message: 'two recorded runs of the static',
    });
    const d = (await app.scheduler.describeStatic('tick', { next: 3, last: 1 }))!;
    expect(d.schedule.name).toBe('tick');
    expect(
      d.nextFires.map((f) => f.fireTime.getTime() - d.nextFires[0].fireTime.getTime()),
    ).toEqual([0, 1_000, 2_000]);
    expect(d.lastRuns).toHaveLength(1);
    expect(d.lastRuns[0]).toMatchObject({ status: 'succeeded', attempt: 1 });
    expect(d.counters.runs).toBeGreaterThanOrEqual(2);
    const history = await app.scheduler.historyStatic('tick');
    expect(history[0].sequence).toBeGreaterThan(history[1].sequence);
    expect(await app.scheduler.describeStatic('nope')).toBeNull();
    expect(await app.scheduler.historyStatic('nope')).toEqual([]);
  });

  it('refuses next or last beyond the bound with a typed error', async () => {
    await app.scheduler.upsert({ tenantId: 'acme', id: 'x', cron: '0 0 1 1 *', handler: 'record' });
    for (const options of [{ next: 101 }, { last: 101 }, { next: -1 }, { last: 1.5 }]) {
      await expect(app.scheduler.describe('acme', 'x', options)).rejects.toBeInstanceOf(
        InvalidOptionsError,
      );
      await expect(app.scheduler.describeStatic('tick', options)).rejects.toBeInstanceOf(
        InvalidOptionsError,
      );
    }
    await expect(app.scheduler.describe('acme', 'x', { next: 101 })).rejects.toThrow(
      'Invalid next: 101 must be an integer from 0 to 100.',
    );
    expect((await app.scheduler.describe('acme', 'x', { next: 0, last: 0 }))!.nextFires).toEqual(
      [],
    );
  });
});
