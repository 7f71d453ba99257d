import { waitFor } from '../../support/wait-for';
import { TENANT, useScriptHarness } from './script-harness';

/*
 * removeSchedule-3.lua called directly: what a removal deletes (hash, due entry, tenant
 * membership, run records: no key but the fence counter stays), and what a run of the removed
 * schedule can still do (nothing). Detached run records (overlap 'allow') are the case of issue
 * #14 item 7: they used to stay, with no TTL, until a later claim on their handler's due index.
 */

const h = useScriptHarness();

function remove(id: string, handler = 'h1') {
  const k = h.keysOf(id, handler);
  return h.scripts.removeSchedule(k, id, h.ks.wakeChannel);
}

/** Members of every due index under the prefix. */
async function dueMembers(): Promise<string[]> {
  const indexes = (await h.prefixKeys()).filter((key) => key.includes('}:due:'));
  const members = await Promise.all(indexes.map((key) => h.client.zrange(key, '0', '-1')));
  return members.flat().sort();
}

/**
 * Claims s1 (armed in the past) and detaches its run `count` times, each time re-arming it at
 * once (due already), so `count` run records of s1 go on side by side.
 */
async function detachedRuns(count: number, leaseMs = 10_000) {
  const k = h.keysOf('s1');
  const now = await h.redisNow();
  await h.upsert({ id: 's1', fireMs: now - 10_000 });
  const runs = [];
  for (let i = 0; i < count; i++) {
    const run = (await h.claim({ leaseMs })).runs.find((r) => r.member === k.member);
    if (!run) throw new Error(`s1 was not claimed (round ${i})`);
    const { verdict, record } = await h.detach(k, run, now - 9_000 + i * 1_000);
    expect(verdict).toBe('ok');
    runs.push({ run, record, recordHash: `${k.base}s:${record}` });
  }
  return { k, runs };
}

describe('removeSchedule', () => {
  it('removes hash, due entry and tenant membership: 1, then 0', async () => {
    const now = await h.redisNow();
    const k = h.keysOf('s1');
    await h.upsert({ id: 's1', fireMs: now + 60_000 });
    await h.upsert({ id: 's2', fireMs: now + 60_000 });

    expect(await h.scripts.removeSchedule(k, 's1', h.ks.wakeChannel)).toBe(true);
    expect(await h.client.exists(k.hash)).toBe(0);
    expect(await h.score(h.dueKey(), k.member)).toBeNull();
    expect(await h.client.smembers(h.ks.tenantSet(TENANT))).toEqual(['s2']);
    expect(await h.epoch()).toBe(0);

    expect(await h.scripts.removeSchedule(k, 's1', h.ks.wakeChannel)).toBe(false);
    expect(await h.client.smembers(h.ks.tenantSet(TENANT))).toEqual(['s2']);
  });

  it('leaves no key behind except the fence counter, even for a schedule that ran', async () => {
    const now = await h.redisNow();
    const k = h.keysOf('s1');
    await h.upsert({ id: 's1', fireMs: now - 1_000 });
    const [run] = (await h.claim()).runs;
    expect(
      await h.complete(k.base, [
        h.completion(k.member, run.fencingToken, {
          nextFireMs: now + 60_000,
          nextDueMs: now + 60_000,
        }),
      ]),
    ).toEqual(['ok']);
    expect((await h.prefixKeys()).length).toBeGreaterThan(1);

    expect(await h.scripts.removeSchedule(k, 's1', h.ks.wakeChannel)).toBe(true);
    expect(await h.prefixKeys()).toEqual([h.ks.fenceCounter(0)]);
  });

  it('removes a running schedule: it is neither re-claimed nor re-armed, and the epoch moves on', async () => {
    const now = await h.redisNow();
    const k = h.keysOf('s1');
    await h.upsert({ id: 's1', fireMs: now - 1_000 });
    const [run] = (await h.claim({ leaseMs: 150 })).runs;
    expect(await h.scripts.removeSchedule(k, 's1', h.ks.wakeChannel)).toBe(true);
    expect(await h.epoch()).toBe(1);
    await waitFor(async () => (await h.redisNow()) > run.leaseUntilMs, { timeoutMs: 5_000 });

    expect((await h.claim()).runs).toEqual([]);
    expect(await h.prefixKeys()).toEqual([h.ks.epochCounter(0), h.ks.fenceCounter(0)].sort());
  });

  it('deletes the detached run records of the schedule: hashes, due entries and run set', async () => {
    const now = await h.redisNow();
    await h.upsert({ id: 'other', fireMs: now + 60_000 });
    const { k, runs } = await detachedRuns(3);
    // One of them failed and waits unowned for its retry: still a run record of s1.
    expect(
      await h.complete(k.base, [
        h.completion(runs[0].record, runs[0].run.fencingToken, {
          outcome: 'retry',
          nextDueMs: now + 30_000,
        }),
      ]),
    ).toEqual(['ok']);
    for (const { recordHash } of runs) expect(await h.client.exists(recordHash)).toBe(1);
    expect((await h.client.smembers(h.ks.detachedRuns(k))).sort()).toEqual(
      runs.map((r) => String(r.run.fireMs)).sort(),
    );

    expect(await remove('s1')).toBe(true);

    const other = h.keysOf('other');
    expect(await h.prefixKeys()).toEqual(
      [
        h.ks.fenceCounter(0),
        other.hash,
        h.dueKey(),
        h.ks.tenantSet(TENANT),
        h.ks.tenantIndex(0),
      ].sort(),
    );
    expect(await dueMembers()).toEqual([other.member]);
  });

  it('creates the run set only when a run detaches, and it goes with the last record', async () => {
    const now = await h.redisNow();
    const k = h.keysOf('s1');
    await h.upsert({ id: 's1', fireMs: now - 1_000 });
    const [plain] = (await h.claim()).runs;
    expect(
      await h.complete(k.base, [
        h.completion(k.member, plain.fencingToken, {
          nextFireMs: now - 500,
          nextDueMs: now - 500,
        }),
      ]),
    ).toEqual(['ok']);
    // A run that is not detached writes no run set: no byte more per schedule.
    expect(await h.client.exists(h.ks.detachedRuns(k))).toBe(0);

    const [run] = (await h.claim()).runs;
    const { record } = await h.detach(k, run, now + 60_000);
    expect(await h.client.smembers(h.ks.detachedRuns(k))).toEqual([String(run.fireMs)]);
    expect(await h.complete(k.base, [h.completion(record, run.fencingToken)])).toEqual(['ok']);
    expect(await h.client.exists(h.ks.detachedRuns(k))).toBe(0);
    expect((await h.prefixKeys()).filter((key) => key.includes(':r:'))).toEqual([]);
  });

  it('a detached run of the removed schedule loses its lease at renewal and cannot record', async () => {
    const { k, runs } = await detachedRuns(2);
    expect(await remove('s1')).toBe(true);
    const keysAfterRemove = await h.prefixKeys();

    const refs = runs.map(({ record, run }) => ({
      member: record,
      fencingToken: run.fencingToken,
    }));
    expect(await h.scripts.extendLeases(k.base, 30_000, refs)).toEqual([
      'lease-lost',
      'lease-lost',
    ]);
    expect(
      await h.complete(
        k.base,
        [
          h.completion(runs[0].record, runs[0].run.fencingToken),
          h.completion(runs[1].record, runs[1].run.fencingToken, {
            outcome: 'retry',
            nextDueMs: runs[1].run.fireMs,
          }),
        ],
        { history: 10 },
      ),
    ).toEqual(['lease-lost', 'lease-lost']);
    // Neither call wrote anything back: no record, due entry, history or last run.
    expect(await h.prefixKeys()).toEqual(keysAfterRemove);
    expect(await h.prefixKeys()).toEqual([h.ks.fenceCounter(0)]);
  });

  it('deletes a record from the due index of the handler it ran under, after a handler change', async () => {
    const { k, runs } = await detachedRuns(1);
    const now = await h.redisNow();
    await h.upsert({ id: 's1', handler: 'h2', fireMs: now + 60_000 });
    const [{ record, run }] = runs;
    // The record follows the schedule to the new handler's due index, as a held run does, so
    // the pods running the new handler re-claim it if its lease runs out.
    expect(await h.score(h.dueKey('h1'), record)).toBeNull();
    expect(await h.score(h.dueKey('h2'), record)).toBe(run.leaseUntilMs);
    expect(await h.client.hget(runs[0].recordHash, 'h')).toBe('h:h2');
    const [lease] = await h.scripts.extendLeases(k.base, 30_000, [
      { member: record, fencingToken: run.fencingToken },
    ]);
    expect(lease).toBeGreaterThan(run.leaseUntilMs);
    expect(await h.score(h.dueKey('h2'), record)).toBe(lease);

    expect(await remove('s1', 'h2')).toBe(true);
    expect(await dueMembers()).toEqual([]);
    expect(await h.prefixKeys()).toEqual([h.ks.fenceCounter(0)]);
  });

  it('a record whose lease ran out under a handler no pod runs any more is re-claimed under the new one', async () => {
    const { runs } = await detachedRuns(1, 150);
    const now = await h.redisNow();
    await h.upsert({ id: 's1', handler: 'h2', fireMs: now + 60_000 });
    const [{ record, run }] = runs;
    const again = await waitForClaim('h2', record);
    expect(again).toMatchObject({ member: record, fireMs: run.fireMs, attempt: 2 });
    expect((await h.claim({ handler: 'h1' })).runs).toEqual([]);
  });

  it('a schedule created again under the same id starts with no run record', async () => {
    const { runs } = await detachedRuns(2);
    expect(await remove('s1')).toBe(true);
    const now = await h.redisNow();
    await h.upsert({ id: 's1', fireMs: now - 500 });
    const claimed = (await h.claim()).runs.map((r) => r.member);
    expect(claimed).toEqual([h.keysOf('s1').member]);
    for (const { recordHash } of runs) expect(await h.client.exists(recordHash)).toBe(0);
  });

  it('a record without a run set (written by an earlier version) is still dropped by the claim path', async () => {
    const { k, runs } = await detachedRuns(1, 150);
    await h.client.del(h.ks.detachedRuns(k));
    expect(await remove('s1')).toBe(true);
    const [{ record, run }] = runs;
    expect(await h.score(h.dueKey(), record)).toBe(run.leaseUntilMs);
    await waitForLease(run.leaseUntilMs);
    expect((await h.claim()).runs).toEqual([]);
    expect(await h.prefixKeys()).toEqual([h.ks.fenceCounter(0)]);
  });

  it('returns false (0 NOT_FOUND) and writes nothing for a schedule that does not exist', async () => {
    expect(await remove('nope')).toBe(false);
    expect(await h.prefixKeys()).toEqual([]);
  });

  it("drops a removed schedule's record once its lease expires, leaving no key behind", async () => {
    const { k, recordMember } = await h.detachedRun(150);
    expect(await h.scripts.removeSchedule(k, 's1', h.ks.wakeChannel)).toBe(true);
    await waitFor(async () => (await h.redisNow()) > (await h.score(h.dueKey(), recordMember))!, {
      timeoutMs: 5_000,
    });
    expect((await h.claim()).runs).toEqual([]);
    expect(await h.prefixKeys()).toEqual([h.ks.fenceCounter(0)]);
  });

  it('removeSchedule makes a detached run lose its lease: no renewal, no completion', async () => {
    // removeSchedule-3.lua: "a run already started loses its lease at the next renewal and cannot
    // record completion" -- this must hold for a detached run (overlap 'allow') too.
    const { k, run, recordMember } = await h.detachedRun();
    expect(await h.scripts.removeSchedule(k, 's1', h.ks.wakeChannel)).toBe(true);

    expect(
      await h.scripts.extendLeases(k.base, 30_000, [
        { member: recordMember, fencingToken: run.fencingToken },
      ]),
    ).toEqual(['lease-lost']);
    expect(await h.complete(k.base, [h.completion(recordMember, run.fencingToken)])).toEqual([
      'lease-lost',
    ]);
  });
});

describe('regressions found in review', () => {
  it('a detached run of a removed schedule is not adopted by a schedule created again under its id', async () => {
    const fire = (await h.redisNow()) - 1_000;
    await h.upsert({ id: 'a', fireMs: fire });
    const k = h.keysOf('a');
    const [run] = (await h.claim()).runs;
    expect(
      await h.scripts.detachRuns(k.base, [
        {
          member: k.member,
          fencingToken: run.fencingToken,
          revision: run.revision,
          nextFireMs: fire + 60_000,
          nextDueMs: fire + 60_000,
        },
      ]),
    ).toEqual(['ok']);
    const record = `${k.member}:r:${fire}`;
    // The detached run fails and a retry is due at once; then the schedule is removed and created again.
    expect(
      await h.complete(k.base, [
        h.completion(record, run.fencingToken, { outcome: 'retry', nextDueMs: fire }),
      ]),
    ).toEqual(['ok']);
    expect(await h.scripts.removeSchedule(k, 'a', h.ks.wakeChannel)).toBe(true);
    await h.upsert({ id: 'a', fireMs: (await h.redisNow()) + 60_000, cron: '0 * * * *' });
    const reply = await h.claim();
    expect(reply.runs.filter((r) => r.member === record)).toEqual([]);
    expect(await h.client.exists(`${k.base}s:${record}`)).toBe(0);
  });
});

async function waitForLease(leaseUntilMs: number): Promise<void> {
  await waitFor(async () => (await h.redisNow()) > leaseUntilMs, { timeoutMs: 5_000 });
}

function waitForClaim(handler: string, member: string) {
  return waitFor(async () => (await h.claim({ handler })).runs.find((r) => r.member === member), {
    timeoutMs: 5_000,
    message: `${member} to be re-claimed from ${handler}`,
  });
}

describe('removeSchedule pushes a moved change epoch', () => {
  it("publishes '<epoch key> <epoch>' when the schedule held a run, and nothing otherwise", async () => {
    const subscriber = h.client.duplicate();
    const messages: string[] = [];
    subscriber.on('message', (_channel: string, message: string) => messages.push(message));
    await subscriber.subscribe(h.ks.wakeChannel);
    try {
      const now = await h.redisNow();
      await h.upsert({ id: 'idle', fireMs: now + 60_000 });
      await h.upsert({ id: 'held', fireMs: now - 1_000 });
      const claimed = await h.claim();
      expect(claimed.runs.map((r) => r.member)).toEqual([h.keysOf('held').member]);
      messages.length = 0;
      expect(await remove('idle')).toBe(true);
      expect(await remove('held')).toBe(true);
      const epochKey = h.ks.epochCounter(0);
      await waitFor(() => messages.some((m) => m.startsWith(`${epochKey} `)), {
        message: 'the epoch message',
      });
      // Only the removal of the schedule holding a run moved the epoch.
      expect(messages).toEqual([`${epochKey} ${await h.client.get(epochKey)}`]);
    } finally {
      subscriber.disconnect();
    }
  });

  describe('tenant index', () => {
    it('takes the tenant out of the index with its last schedule, unless the tenant is paused', async () => {
      const now = await h.redisNow();
      const index = () => h.client.zrange(h.ks.tenantIndex(0), '0', '-1');
      await h.upsert({ id: 'a', fireMs: now + 60_000 });
      await h.upsert({ id: 'b', fireMs: now + 60_000 });
      expect(await index()).toEqual([TENANT]);
      await h.scripts.removeSchedule(h.keysOf('a'), 'a', h.ks.wakeChannel);
      expect(await index()).toEqual([TENANT]);
      await h.scripts.removeSchedule(h.keysOf('b'), 'b', h.ks.wakeChannel);
      expect(await index()).toEqual([]);

      await h.upsert({ id: 'c', fireMs: now + 60_000 });
      await h.scripts.pauseTenant(h.ks.partitionBases[0], TENANT, h.ks.wakeChannel);
      await h.scripts.removeSchedule(h.keysOf('c'), 'c', h.ks.wakeChannel);
      // A paused tenant stays listed (and paused) with no schedule left.
      expect(await index()).toEqual([TENANT]);
    });
  });
});
