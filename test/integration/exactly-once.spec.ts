import { createApp, freshPrefix, TestApp } from '../support/create-app';
import { RedisServerHandle, startRedisServer } from '../support/redis-server';
import {
  behaviour,
  everySecondStatic,
  recordingHandlers,
  resetRecorder,
  runs,
} from '../fixtures/recorder';
import { redisNow, untilRedisTime } from '../support/redis-time';
import { sleep, waitFor } from '../support/wait-for';

let server: RedisServerHandle;
beforeAll(async () => (server = await startRedisServer()));
afterAll(() => server.stop());
beforeEach(() => resetRecorder());

const open = { maxSchedulesPerTenant: 0, minIntervalMs: 0, maxPayloadBytes: 0 };

async function pods(
  n: number,
  prefix: string,
  extra: Record<string, unknown> = {},
): Promise<TestApp[]> {
  return Promise.all(
    Array.from({ length: n }, (_, i) =>
      createApp({ redis: server.url, keyPrefix: prefix, tenantGuards: open, ...extra }, [
        recordingHandlers(`pod${i}`),
        everySecondStatic(`pod${i}`),
      ]),
    ),
  );
}

/**
 * Every dynamic schedule (s0…s39) has run the same three fire times in a row, from the first fire
 * time all of them were armed for, and the static schedule has run three times.
 */
function everyScheduleRanThreeInARow(): boolean {
  const fires = new Map<string, Set<number>>();
  for (const r of runs) {
    if (r.tenantId === undefined) continue;
    fires.set(r.scheduleId, (fires.get(r.scheduleId) ?? new Set()).add(r.fireTime));
  }
  if (fires.size < 40) return false;
  const first = Math.max(...[...fires.values()].map((f) => Math.min(...f)));
  return (
    [...fires.values()].every((f) => [0, 1_000, 2_000].every((d) => f.has(first + d))) &&
    runs.filter((r) => r.scheduleId === 'every-second').length >= 3
  );
}

describe('exactly once across several apps', () => {
  it('starts every fire time of every schedule exactly once, none missed', async () => {
    const prefix = freshPrefix();
    const apps = await pods(4, prefix);
    try {
      for (let i = 0; i < 40; i++) {
        await apps[i % 4].scheduler.upsert({
          tenantId: `tenant${i % 7}`,
          id: `s${i}`,
          cron: '* * * * * *',
          handler: 'record',
          jitterMs: i % 2 === 0 ? 0 : 800,
        });
      }
      await waitFor(() => everyScheduleRanThreeInARow(), {
        timeoutMs: 15_000,
        message: 'every schedule to run three fire times in a row, the static one three times',
      });
      for (const app of apps) await app.close();
      const byKey = new Map<string, number>();
      for (const run of runs) {
        const key = `${run.tenantId ?? ''}/${run.scheduleId}@${run.fireTime}`;
        byKey.set(key, (byKey.get(key) ?? 0) + 1);
      }
      const duplicates = [...byKey].filter(([, count]) => count > 1);
      expect(duplicates).toEqual([]);
      // Every schedule fired for each second of a window where all were armed.
      const dynamicFires = runs.filter((r) => r.tenantId !== undefined);
      const first = Math.max(
        ...[...new Set(dynamicFires.map((r) => r.scheduleId))].map((id) =>
          Math.min(...dynamicFires.filter((r) => r.scheduleId === id).map((r) => r.fireTime)),
        ),
      );
      const last = first + 2_000;
      for (let i = 0; i < 40; i++) {
        for (let t = first; t <= last; t += 1_000) {
          expect(byKey.get(`tenant${i % 7}/s${i}@${t}`)).toBe(1);
        }
      }
      // Runs were shared: more than one app did work.
      expect(new Set(runs.map((r) => r.app)).size).toBeGreaterThan(1);
      // The static schedule ran once per second too.
      const statics = runs.filter((r) => r.scheduleId === 'every-second').map((r) => r.fireTime);
      expect(new Set(statics).size).toBe(statics.length);
      expect(statics.length).toBeGreaterThanOrEqual(3);
    } finally {
      await Promise.all(apps.map((a) => a.close()));
    }
  });

  it('gives fencing tokens that strictly increase per schedule', async () => {
    const apps = await pods(2, freshPrefix());
    try {
      await waitFor(() => runs.filter((r) => r.scheduleId === 'every-second').length >= 3);
    } finally {
      await Promise.all(apps.map((a) => a.close()));
    }
    const tokens = runs
      .filter((r) => r.scheduleId === 'every-second')
      .sort((a, b) => a.fireTime - b.fireTime);
    for (let i = 1; i < tokens.length; i++)
      expect(tokens[i].fencingToken).toBeGreaterThan(tokens[i - 1].fencingToken);
  });

  it('starts runs shortly after fire time + jitter offset', async () => {
    const apps = await pods(2, freshPrefix());
    try {
      await waitFor(() => runs.filter((r) => r.scheduleId === 'every-second').length >= 4);
    } finally {
      await Promise.all(apps.map((a) => a.close()));
    }
    for (const run of runs.filter((r) => r.scheduleId === 'every-second')) {
      const lateness = run.startedAt - run.fireTime;
      expect(lateness).toBeGreaterThanOrEqual(-5);
      expect(lateness).toBeLessThan(500);
    }
  });
});

describe('live changes', () => {
  it('an upsert, pause, resume and remove made on an API pod take effect on the workers', async () => {
    const prefix = freshPrefix();
    const workers = await pods(2, prefix);
    const api = await createApp(
      { redis: server.url, keyPrefix: prefix, worker: false, tenantGuards: open },
      [recordingHandlers('api')],
    );
    const client = server.client();
    try {
      const input = { tenantId: 'acme', id: 'live', cron: '* * * * * *', handler: 'record' };
      await api.scheduler.upsert(input);
      await waitFor(() => runs.some((r) => r.scheduleId === 'live'), {
        message: 'upsert did not take effect',
      });

      await api.scheduler.pause('acme', 'live');
      // A run of a fire time before the pause may still start; none of a later one.
      const pausedAt = await redisNow(client);
      // A window for a wrong start: two fire times after the pause, and 500 ms for a run to start.
      await untilRedisTime(client, pausedAt + 2_500, 'two fire times after the pause');
      expect(runs.filter((r) => r.scheduleId === 'live' && r.fireTime > pausedAt)).toEqual([]);
      const afterPause = runs.filter((r) => r.scheduleId === 'live').length;

      await api.scheduler.resume('acme', 'live');
      await waitFor(() => runs.filter((r) => r.scheduleId === 'live').length > afterPause, {
        message: 'resume did not take effect',
      });

      await api.scheduler.upsert({ ...input, payload: { v: 2 } });
      await waitFor(
        () => runs.some((r) => r.scheduleId === 'live' && (r.payload as { v?: number })?.v === 2),
        {
          message: 'payload change did not take effect',
        },
      );

      const removedAt = await redisNow(client);
      await api.scheduler.remove('acme', 'live');
      // A window for a wrong start: two fire times after the removal, and 500 ms for a run to start.
      await untilRedisTime(client, removedAt + 2_500, 'two fire times after the removal');
      expect(runs.filter((r) => r.scheduleId === 'live' && r.fireTime > removedAt)).toEqual([]);
      expect(runs.filter((r) => r.app === 'api')).toEqual([]);
    } finally {
      await Promise.all([...workers, api].map((a) => a.close()));
    }
  });

  it('a run reserved ahead of its due time never starts once its schedule is removed, paused or changed', async () => {
    const prefix = freshPrefix();
    // A 2 s look-ahead (lease 8 s): the worker holds each fire time well before it is due.
    const workers = await pods(2, prefix, { leaseMs: 8_000, lookAheadMs: 2_000 });
    const api = await createApp(
      { redis: server.url, keyPrefix: prefix, worker: false, tenantGuards: open },
      [recordingHandlers('api')],
    );
    const client = server.client();
    /** Waits until a worker holds a reservation of `id`: a run state for a fire time not yet due. */
    const reserved = async (id: string): Promise<number> =>
      waitFor(
        async () => {
          const [state, [seconds, micros]] = await Promise.all([
            client.hget(`${prefix}:{p0}:s:t:acme:${id}`, 'r'),
            client.time(),
          ]);
          const fire = Number(state?.split(':')[0]);
          const now = Number(seconds) * 1000 + Number(micros) / 1000;
          return fire - now > 500 ? fire : null;
        },
        { timeoutMs: 10_000, message: `no reservation of ${id}` },
      );
    const input = { tenantId: 'acme', cron: '*/3 * * * * *', handler: 'record' };
    try {
      await api.scheduler.upsertMany(
        ['removed', 'paused', 'changed'].map((id) => ({ ...input, id, payload: { v: 1 } })),
      );
      const removedFire = await reserved('removed');
      expect(await api.scheduler.remove('acme', 'removed')).toBe(true);
      const pausedFire = await reserved('paused');
      await api.scheduler.pause('acme', 'paused');
      const changedFire = await reserved('changed');
      await api.scheduler.upsert({ ...input, id: 'changed', payload: { v: 2 } });

      // A window for a wrong start: until 1.5 s after the last of the reserved fire times.
      await untilRedisTime(
        client,
        Math.max(removedFire, pausedFire, changedFire) + 1_500,
        'the reserved fire times, and 1.5 s',
      );
      expect(runs.filter((r) => r.scheduleId === 'removed' && r.fireTime >= removedFire)).toEqual(
        [],
      );
      expect(runs.filter((r) => r.scheduleId === 'paused' && r.fireTime >= pausedFire)).toEqual([]);
      // The changed schedule runs that fire time once, with the payload of the change.
      const changed = runs.filter((r) => r.scheduleId === 'changed' && r.fireTime === changedFire);
      expect(changed.map((r) => [r.payload, r.attempt])).toEqual([[{ v: 2 }, 1]]);
    } finally {
      await Promise.all([...workers, api].map((a) => a.close()));
    }
  });

  it('a run waiting for a free slot does not start once its schedule is removed', async () => {
    const prefix = freshPrefix();
    // One slot and runs of 1.5 s: of two schedules due together, one waits for the other.
    const worker = await createApp(
      { redis: server.url, keyPrefix: prefix, tenantGuards: open, concurrency: 1 },
      [recordingHandlers('worker')],
    );
    behaviour.delayMs = 1_500;
    try {
      const input = { tenantId: 'acme', cron: '*/5 * * * * *', handler: 'record' };
      await worker.scheduler.upsertMany([
        { ...input, id: 'one' },
        { ...input, id: 'two' },
      ]);
      await waitFor(() => runs.some((r) => r.tenantId === 'acme'), {
        timeoutMs: 10_000,
        message: 'a first run',
      });
      const first = runs.find((r) => r.tenantId === 'acme')!;
      const waiting = first.scheduleId === 'one' ? 'two' : 'one';
      expect(await worker.scheduler.remove('acme', waiting)).toBe(true);
      // The slot is free once the first run is recorded; the removed run would start at once.
      await waitFor(
        async () =>
          (await worker.scheduler.get('acme', first.scheduleId))?.lastFireAt?.getTime() ===
          first.fireTime,
        { timeoutMs: 5_000, message: 'the first run to end and free the slot' },
      );
      await sleep(300); // a window for a wrong start of the removed run, now that the slot is free
      expect(runs.filter((r) => r.scheduleId === waiting)).toEqual([]);
    } finally {
      await worker.close();
    }
  });

  it('no run starts with the old state once remove(), pause() or an upsert has resolved', async () => {
    const prefix = freshPrefix();
    // One slot and 120 ms runs: of three schedules due each second, two wait a few hundred ms.
    const worker = await createApp(
      { redis: server.url, keyPrefix: prefix, tenantGuards: open, concurrency: 1 },
      [recordingHandlers('worker')],
    );
    // Another process's change reaches the worker only through Redis (its pushed change epoch).
    const api = await createApp(
      { redis: server.url, keyPrefix: prefix, tenantGuards: open, worker: false },
      [recordingHandlers('api')],
    );
    behaviour.delayMs = 120;
    const change = {
      remove: (id: string) => worker.scheduler.remove('acme', id),
      pause: (id: string) => worker.scheduler.pause('acme', id),
      upsert: (id: string) =>
        worker.scheduler.upsert({ ...input(id), payload: { v: 2 } }).then(() => true),
      'remove elsewhere': (id: string) => api.scheduler.remove('acme', id),
      'pause elsewhere': (id: string) => api.scheduler.pause('acme', id),
      'upsert elsewhere': (id: string) =>
        api.scheduler.upsert({ ...input(id), payload: { v: 2 } }).then(() => true),
    };
    const input = (id: string) => ({
      tenantId: 'acme',
      id,
      cron: '* * * * * *',
      handler: 'record',
      payload: { v: 1 },
    });
    try {
      for (const [round, kind] of (
        [
          'remove',
          'remove',
          'pause',
          'upsert',
          'remove elsewhere',
          'remove elsewhere',
          'pause elsewhere',
          'upsert elsewhere',
        ] as const
      ).entries()) {
        const ids = [0, 1, 2].map((i) => `r${round}-${i}`);
        await worker.scheduler.upsertMany(ids.map(input));
        // The first start of a fire time: the other two are confirmed and wait for the slot.
        const first = await waitFor(
          () => runs.find((r) => ids.includes(r.scheduleId) && r.fireTime % 1000 === 0),
          { timeoutMs: 5_000, message: `round ${round}: a first run` },
        );
        await Promise.all(ids.map((id) => change[kind](id)));
        const resolvedAt = Date.now();
        // A window for a wrong start: the waiting runs would start within 2 × 120 ms of it.
        await sleep(600);
        const late = runs.filter(
          (r) =>
            ids.includes(r.scheduleId) &&
            r.startedAt > resolvedAt &&
            (r.payload as { v: number }).v === 1,
        );
        expect({ round, kind, first: first.scheduleId, late }).toEqual({
          round,
          kind,
          first: first.scheduleId,
          late: [],
        });
        await Promise.all(ids.map((id) => worker.scheduler.remove('acme', id)));
      }
    } finally {
      await api.close();
      await worker.close();
    }
  });

  it('wakes a sleeping worker when a schedule due sooner is added', async () => {
    const prefix = freshPrefix();
    // Only the dynamic handler: nothing else would wake this worker before its 60 s idle sleep ends.
    const worker = await createApp(
      { redis: server.url, keyPrefix: prefix, tenantGuards: open, maxIdleMs: 60_000 },
      [recordingHandlers('worker')],
    );
    const api = await createApp(
      { redis: server.url, keyPrefix: prefix, worker: false, tenantGuards: open },
      [recordingHandlers('api')],
    );
    try {
      // Lets the worker end its boot-time claims and go idle (60 s): from then on only a wake-up
      // can make it claim. No outside sign tells that it is idle, so this is a plain pause.
      await sleep(1_500);
      const schedule = await api.scheduler.upsert({
        tenantId: 'acme',
        id: 'soon',
        cron: '* * * * * *',
        handler: 'record',
      });
      await waitFor(() => runs.some((r) => r.scheduleId === 'soon'), {
        timeoutMs: 5_000,
        message: 'worker was not woken',
      });
      const run = runs.find((r) => r.scheduleId === 'soon')!;
      expect(run.fireTime).toBe(schedule.nextFireAt!.getTime());
      expect(run.startedAt - run.fireTime).toBeLessThan(500);
    } finally {
      await Promise.all([worker, api].map((a) => a.close()));
    }
  });
});
