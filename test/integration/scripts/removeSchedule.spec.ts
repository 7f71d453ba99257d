import { waitFor } from '../../support/wait-for';
import { TENANT, useScriptHarness } from './script-harness';

/*
 * removeSchedule-3.lua called directly: what a removal deletes, and what a run of the removed
 * schedule can still do (nothing). Detached run records (overlap 'allow') are the case of issue
 * #14 item 7: they used to stay, with no TTL, until a later claim on their handler's due index.
 */

const h = useScriptHarness();

function remove(id: string, handler = 'h1') {
  const k = h.keysOf(id, handler);
  return h.scripts.removeSchedule(k, id);
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
      [h.ks.fenceCounter(0), other.hash, h.dueKey(), h.ks.tenantSet(TENANT)].sort(),
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
        10,
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
