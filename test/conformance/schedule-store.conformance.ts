import { setTimeout as sleep } from 'node:timers/promises';
import type {
  ScheduleChange,
  ScheduleChangeResult,
  ScheduleDefinition,
  ScheduleStore,
  StoredRun,
} from 'nestjs-redis-scheduler';

/**
 * The behaviour every ScheduleStore must have (issue 12): call it from a spec file with a factory
 * of a ready (init()-ed) store over an empty database, e.g.
 *
 *   describeScheduleStoreConformance('PostgresScheduleStore', async () => ({
 *     store: new PostgresScheduleStore({ connectionString }),
 *   }));
 *
 * The tests share one store and keep apart by using a tenant each. A second store over the same
 * database (`other`) is used for cross-connection serialisation; the factory is called twice.
 */
export interface ConformanceSubject {
  store: ScheduleStore;
}

let tenantSeq = 0;
const newTenant = (): string => `t${++tenantSeq}-${process.pid}`;

export function definition(over: Partial<ScheduleDefinition> = {}): ScheduleDefinition {
  return {
    cron: '*/5 * * * *',
    timeZone: 'UTC',
    handler: 'report',
    payload: { n: 1 },
    jitterMs: 0,
    enabled: true,
    ...over,
  };
}

const upsert = (tenantId: string, id: string, def = definition()): ScheduleChange => ({
  kind: 'upsert',
  tenantId,
  id,
  definition: def,
});

export function describeScheduleStoreConformance(
  name: string,
  factory: () => Promise<ConformanceSubject>,
): void {
  describe(`ScheduleStore conformance: ${name}`, () => {
    let store: ScheduleStore;
    let other: ScheduleStore;
    const write = (
      changes: ScheduleChange[],
      max = 0,
      s: ScheduleStore = store,
    ): Promise<ScheduleChangeResult[]> =>
      s.write(changes, { maxSchedulesPerTenant: max }, (results) => Promise.resolve(results));

    beforeAll(async () => {
      store = (await factory()).store;
      other = (await factory()).store;
    });
    afterAll(async () => {
      await store?.close();
      await other?.close();
    });

    it('creates at version 1, keeps an identical upsert unchanged, bumps the version on a change', async () => {
      const t = newTenant();
      const [created] = await write([upsert(t, 'a')]);
      expect(created.status).toBe('created');
      expect(created.record).toMatchObject({ tenantId: t, id: 'a', version: 1 });
      expect(created.record?.definition).toEqual(definition());
      const [same] = await write([upsert(t, 'a', { ...definition() })]);
      expect(same).toMatchObject({ status: 'unchanged', record: { version: 1 } });
      const [changed] = await write([upsert(t, 'a', definition({ cron: '0 * * * *' }))]);
      expect(changed).toMatchObject({ status: 'updated', record: { version: 2 } });
      const got = await store.get(t, 'a');
      expect(got).toMatchObject({ version: 2, definition: { cron: '0 * * * *' } });
      expect(got?.updatedAt).toBeInstanceOf(Date);
      expect(await store.get(t, 'never')).toBeNull();
    });

    it('removes to a tombstone, reports missing after, and re-creates with the next version', async () => {
      const t = newTenant();
      await write([upsert(t, 'a')]);
      const [removed] = await write([{ kind: 'remove', tenantId: t, id: 'a' }]);
      expect(removed).toMatchObject({
        status: 'removed',
        record: { definition: null, version: 2 },
      });
      expect(await store.get(t, 'a')).toMatchObject({ definition: null, version: 2 });
      const again = await write([
        { kind: 'remove', tenantId: t, id: 'a' },
        { kind: 'setEnabled', tenantId: t, id: 'a', enabled: false },
        { kind: 'remove', tenantId: t, id: 'nope' },
      ]);
      expect(again.map((r) => r.status)).toEqual(['missing', 'missing', 'missing']);
      const [recreated] = await write([upsert(t, 'a')]);
      expect(recreated).toMatchObject({ status: 'created', record: { version: 3 } });
    });

    it('pauses and resumes through setEnabled, unchanged when already so', async () => {
      const t = newTenant();
      await write([upsert(t, 'a')]);
      const [paused] = await write([{ kind: 'setEnabled', tenantId: t, id: 'a', enabled: false }]);
      expect(paused).toMatchObject({ status: 'updated', record: { version: 2 } });
      expect(paused.record?.definition).toEqual(definition({ enabled: false }));
      const [again] = await write([{ kind: 'setEnabled', tenantId: t, id: 'a', enabled: false }]);
      expect(again).toMatchObject({ status: 'unchanged', record: { version: 2 } });
      const [resumed] = await write([{ kind: 'setEnabled', tenantId: t, id: 'a', enabled: true }]);
      expect(resumed.record).toMatchObject({ version: 3, definition: { enabled: true } });
    });

    it('applies a write in order and enforces the tenant quota inside it', async () => {
      const t = newTenant();
      const results = await write(
        [
          upsert(t, 'a'),
          upsert(t, 'b'),
          upsert(t, 'c'), // over the quota of 2: refused, nothing written for it
          { kind: 'remove', tenantId: t, id: 'a' },
          upsert(t, 'd'), // the removal freed a place
          upsert(t, 'b', definition({ cron: '1 * * * *' })), // an update never counts
        ],
        2,
      );
      expect(results.map((r) => r.status)).toEqual([
        'created',
        'created',
        'refused',
        'removed',
        'created',
        'updated',
      ]);
      expect(results[2].record).toBeUndefined();
      expect(await store.get(t, 'c')).toBeNull();
      expect((await store.get(t, 'd'))?.version).toBe(1);
      const [over] = await write([upsert(t, 'e')], 2);
      expect(over.status).toBe('refused');
    });

    it('enforces the quota exactly under concurrent writers on separate connections', async () => {
      const t = newTenant();
      const stores = [store, other];
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => write([upsert(t, `s${i}`)], 5, stores[i % 2])),
      );
      const created = results.flat().filter((r) => r.status === 'created');
      expect(created).toHaveLength(5);
      expect(results.flat().filter((r) => r.status === 'refused')).toHaveLength(15);
    });

    it('keeps the commit when afterCommit fails, and rejects with its error', async () => {
      const t = newTenant();
      const failure = new Error('redis down');
      await expect(
        store.write([upsert(t, 'a')], { maxSchedulesPerTenant: 0 }, () => Promise.reject(failure)),
      ).rejects.toBe(failure);
      expect(await store.get(t, 'a')).toMatchObject({ version: 1 });
    });

    it("holds a tenant's other writers (any connection) until afterCommit settles", async () => {
      const t = newTenant();
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let firstInAfterCommit!: () => void;
      const entered = new Promise<void>((resolve) => (firstInAfterCommit = resolve));
      const first = store.write([upsert(t, 'a')], { maxSchedulesPerTenant: 0 }, async () => {
        firstInAfterCommit();
        await gate;
      });
      await entered;
      let secondDone = false;
      const second = write([upsert(t, 'a', definition({ cron: '2 * * * *' }))], 0, other).then(
        (r) => ((secondDone = true), r),
      );
      const reconcilerRan = store.lockTenants([t], () => Promise.resolve('locked'));
      // A negative observation window: the second writer must still be waiting after it.
      await sleep(300);
      expect(secondDone).toBe(false);
      expect((await store.get(t, 'a'))?.version).toBe(1);
      release();
      await first;
      const [r] = await second;
      expect(r).toMatchObject({ status: 'updated', record: { version: 2 } });
      expect(await reconcilerRan).toBe('locked');
    });

    it('lists changes after a watermark in (updatedAt, tenantId, id) order, in pages', async () => {
      const t = newTenant();
      const all = await store.changedSince(null, 100_000);
      const mark = all.at(-1) ?? null;
      await write([upsert(t, 'x'), upsert(t, 'y')]);
      await write([{ kind: 'remove', tenantId: t, id: 'x' }]);
      const first = await store.changedSince(mark, 1);
      expect(first).toHaveLength(1);
      const rest = await store.changedSince(first[0], 10);
      const seen = [...first, ...rest].filter((r) => r.tenantId === t);
      expect(seen.map((r) => [r.id, r.version])).toEqual([
        ['y', 1],
        ['x', 2],
      ]);
      expect(seen[1].definition).toBeNull();
    });

    it('pages through every row in (tenantId, id) order', async () => {
      const t = newTenant();
      await write([upsert(t, 'b'), upsert(t, 'a'), upsert(t, 'c')]);
      const ids: string[] = [];
      let after: { tenantId: string; id: string } | null = { tenantId: t, id: '' };
      for (;;) {
        const page = await store.page(after, 2);
        const mine = page.filter((r) => r.tenantId === t);
        ids.push(...mine.map((r) => r.id));
        if (page.length < 2 || mine.length < page.length) break;
        after = page.at(-1)!;
      }
      expect(ids).toEqual(['a', 'b', 'c']);
      expect((await store.page(null, 1)).length).toBe(1);
    });

    it('pauses, resumes and removes a tenant in one transaction, counting its live schedules', async () => {
      const t = newTenant();
      await write([upsert(t, 'a'), upsert(t, 'b'), upsert(t, 'c')]);
      await write([{ kind: 'remove', tenantId: t, id: 'c' }]);
      const counted = (action: 'pause' | 'resume' | 'remove') =>
        store.writeTenant(t, action, (result) => Promise.resolve(result.schedules));
      expect(await counted('pause')).toBe(2);
      expect(await store.pausedTenants()).toContain(t);
      expect(await counted('resume')).toBe(2);
      expect(await store.pausedTenants()).not.toContain(t);
      await counted('pause');
      expect(await counted('remove')).toBe(2);
      expect(await store.pausedTenants()).not.toContain(t);
      const rows = (await store.page({ tenantId: t, id: '' }, 10)).filter((r) => r.tenantId === t);
      expect(rows.map((r) => [r.id, r.definition, r.version])).toEqual([
        ['a', null, 2],
        ['b', null, 2],
        ['c', null, 2],
      ]);
      // The tombstones are changes the reconciler sees, and the quota is free again.
      expect((await store.changedSince(null, 10_000)).filter((r) => r.tenantId === t)).toHaveLength(
        3,
      );
      expect((await write([upsert(t, 'd')], 1))[0].status).toBe('created');
    });

    it("holds a tenant's writers while writeTenant's afterCommit runs", async () => {
      const t = newTenant();
      const order: string[] = [];
      const paused = store.writeTenant(t, 'pause', async () => {
        await sleep(300);
        order.push('pause applied');
        return 0;
      });
      await sleep(50);
      await write([upsert(t, 'a')], 0, other);
      order.push('upsert committed');
      await paused;
      expect(order).toEqual(['pause applied', 'upsert committed']);
    });

    it('keeps each run’s result in its execution history, null for none (optional: runHistory)', async () => {
      const { recordRuns, runHistory } = store;
      if (!recordRuns || !runHistory) {
        // A store without execution history: nothing to keep.
        expect(runHistory).toBeUndefined();
        return;
      }
      const t = newTenant();
      const t0 = Date.UTC(2030, 0, 1);
      const run = (i: number, over: Partial<StoredRun> = {}): StoredRun => ({
        tenantId: t,
        scheduleId: 'hook',
        fireTime: new Date(t0 + i * 1_000),
        attempt: 1,
        fencingToken: i,
        status: 'succeeded',
        startedAt: new Date(t0 + i * 1_000),
        endedAt: new Date(t0 + i * 1_000 + 5),
        durationMs: 5,
        error: null,
        pod: 'pod-1',
        ...over,
      });
      await recordRuns.call(store, [
        run(1, { result: { status: 200, durationMs: 5 } }),
        run(2, { status: 'failed', error: 'HTTP 503', result: { status: 503, durationMs: 7 } }),
        run(3), // no result (as a store written before results were kept holds)
        run(4, { result: null }),
        run(5, { result: ['a', 1, { nested: true }, 'é'] }),
      ]);
      const history = await runHistory.call(store, t, 'hook', 10);
      expect(history.map((r) => [r.fencingToken, r.result ?? null])).toEqual([
        [5, ['a', 1, { nested: true }, 'é']],
        [4, null],
        [3, null],
        [2, { status: 503, durationMs: 7 }],
        [1, { status: 200, durationMs: 5 }],
      ]);
      if (store.recordRunColumns) {
        await store.recordRunColumns({
          pod: 'pod-2',
          tenantIds: [t, t],
          scheduleIds: ['cols', 'cols'],
          fireMs: [t0, t0 + 1_000],
          attempts: [1, 1],
          fencingTokens: [1, 2],
          statuses: ['succeeded', 'succeeded'],
          startedMs: [t0, t0 + 1_000],
          endedMs: [t0 + 3, t0 + 1_003],
          errors: [null, null],
          results: ['{"status":204,"durationMs":3}', null],
          sequences: [1, 2],
        });
        const cols = await runHistory.call(store, t, 'cols', 10);
        expect(cols.map((r) => r.result ?? null)).toEqual([null, { status: 204, durationMs: 3 }]);
      }
    });

    it("keeps the runtime pause of statics, serialised with lockTenants(['']) (optional: writeStaticPause)", async () => {
      const { writeStaticPause, pausedStatics } = store;
      if (!writeStaticPause || !pausedStatics) {
        // A store without static pauses: pauseStatic() is kept in Redis only.
        expect(pausedStatics).toBeUndefined();
        return;
      }
      const name = `static-${newTenant()}`;
      expect(await store.writeStaticPause!(name, true, () => Promise.resolve('applied'))).toBe(
        'applied',
      );
      expect(await store.pausedStatics!()).toContain(name);
      // Twice is harmless; afterCommit failing keeps the commit.
      await expect(
        store.writeStaticPause!(name, true, () => Promise.reject(new Error('redis down'))),
      ).rejects.toThrow('redis down');
      expect((await other.pausedStatics!()).filter((n) => n === name)).toEqual([name]);
      // Held: the statics' lock on another connection waits until afterCommit settles.
      const order: string[] = [];
      const resumed = store.writeStaticPause!(name, false, async () => {
        await sleep(300);
        order.push('resume applied');
      });
      await sleep(50);
      await other.lockTenants([''], async () => {
        order.push('lock held');
        expect(await other.pausedStatics!()).not.toContain(name);
      });
      await resumed;
      expect(order).toEqual(['resume applied', 'lock held']);
    });

    it('anchors an interval when its every changes, and keeps the anchor otherwise (optional: anchorAt)', async () => {
      const t = newTenant();
      const every = definition({ cron: undefined, every: '5s' });
      const [created] = await write([upsert(t, 'tick', every), upsert(t, 'cron')]);
      if (created.record?.anchorAt === undefined) return; // a store that keeps no anchors
      const anchor = created.record.anchorAt;
      expect(anchor).toBeInstanceOf(Date);
      expect((await store.get(t, 'cron'))?.anchorAt ?? null).toBeNull();
      const kept = async (change: ScheduleChange) => {
        await sleep(5);
        await write([change]);
        return (await store.get(t, 'tick'))?.anchorAt?.getTime();
      };
      expect(await kept({ kind: 'setEnabled', tenantId: t, id: 'tick', enabled: false })).toBe(
        anchor?.getTime(),
      );
      expect(await kept(upsert(t, 'tick', { ...every, payload: { n: 2 } }))).toBe(
        anchor?.getTime(),
      );
      const moved = await kept(upsert(t, 'tick', { ...every, every: '6s' }));
      expect(moved).toBeGreaterThan(anchor!.getTime());
      expect(await kept(upsert(t, 'tick', { ...every, cron: '* * * * *', every: undefined }))).toBe(
        undefined,
      );
    });

    it('keeps the sequence Redis gave each run, every attempt, across pruning (optional: sequence)', async () => {
      const { recordRuns, runHistory, pruneRuns } = store;
      if (!recordRuns || !runHistory) return;
      const t = newTenant();
      const t0 = Date.UTC(2001, 0, 1); // old: pruned below
      const run = (
        second: number,
        attempt: number,
        status: StoredRun['status'],
        sequence: number,
      ): StoredRun => ({
        tenantId: t,
        scheduleId: 'seq',
        fireTime: new Date(t0 + second * 1_000),
        attempt,
        fencingToken: second * 10 + attempt,
        status,
        startedAt: new Date(t0 + second * 1_000 + attempt),
        endedAt: new Date(t0 + second * 1_000 + attempt + 1),
        durationMs: 1,
        error: status === 'succeeded' ? null : 'boom',
        pod: 'pod-1',
        sequence,
      });
      // Out of order, in two batches, numbered as Redis numbered them (not from 1: runs before
      // these were never written, e.g. lost to a full history buffer).
      await recordRuns.call(store, [run(2, 1, 'retry', 8), run(1, 1, 'succeeded', 7)]);
      await recordRuns.call(store, [run(3, 1, 'succeeded', 10), run(2, 2, 'succeeded', 9)]);
      const history = await runHistory.call(store, t, 'seq', 10);
      if (!history[0].sequence) return; // a store that keeps no sequence
      expect(history.map((r) => [r.sequence, r.fireTime.getTime() - t0, r.attempt])).toEqual([
        [10, 3_000, 1],
        [9, 2_000, 2],
        [8, 2_000, 1],
        [7, 1_000, 1],
      ]);
      expect((await runHistory.call(store, t, 'seq', 2)).map((r) => r.sequence)).toEqual([10, 9]);
      // A run recorded without one reads 0 (or absent).
      await recordRuns.call(store, [{ ...run(4, 1, 'succeeded', 0), sequence: undefined }]);
      expect((await runHistory.call(store, t, 'seq', 1))[0].sequence ?? 0).toBe(0);
      if (!pruneRuns) return;
      // Pruned oldest first (the other tests' runs are newer): the numbers stay.
      await pruneRuns.call(store, new Date(t0 + 2_000), 10);
      expect((await runHistory.call(store, t, 'seq', 10)).map((r) => r.sequence)).toEqual([
        0, 10, 9, 8,
      ]);
    });
  });
}
