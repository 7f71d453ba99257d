import { waitFor } from '../../support/wait-for';
import { useScriptHarness } from './script-harness';

/*
 * confirmRuns-1.lua called directly: a reservation is confirmed at its due time by Redis TIME, on
 * the fast path while the partition's change epoch stands, else checked run by run.
 */

const h = useScriptHarness();

describe('confirmRuns', () => {
  /** Reserves s1 due in `inMs`. */
  async function reserved(inMs = 300, leaseMs = 10_000) {
    const now = await h.redisNow();
    const k = h.keysOf('s1');
    await h.upsert({ id: 's1', fireMs: now + inMs });
    const reply = await h.claim({ lookAheadMs: 5_000, leaseMs });
    const [run] = reply.runs;
    expect(run.dueMs).toBeGreaterThan(reply.nowMs);
    const confirm = (over: { fence?: number; revision?: string; epoch?: number } = {}) =>
      h.scripts.confirmRuns(k.base, run.dueMs, over.epoch ?? reply.epoch, run.leaseUntilMs, [
        {
          member: k.member,
          fencingToken: over.fence ?? run.fencingToken,
          revision: over.revision ?? run.revision,
        },
      ]);
    const atDue = () =>
      waitFor(async () => (await h.redisNow()) >= run.dueMs, {
        timeoutMs: 5_000,
        message: 'the due time',
      });
    return { now, k, run, reply, confirm, atDue };
  }

  it('refuses before the due time by Redis TIME, confirming nothing', async () => {
    const { confirm, run, k } = await reserved(2_000);
    const early = await confirm();
    expect(early.status).toBe('early');
    expect(early.nowMs).toBeLessThan(run.dueMs);
    expect((await h.runState(k.hash))?.fence).toBe(run.fencingToken);
  });

  it('confirms at the due time without reading a schedule while the epoch is unchanged', async () => {
    const { confirm, atDue, k, run } = await reserved();
    await atDue();
    // Even a wrong token passes the fast path: nothing changed in the partition since the claim.
    expect((await confirm({ fence: 12345 })).status).toBe('confirmed');
    expect(await confirm()).toMatchObject({ status: 'confirmed', epoch: 0 });
    expect(await h.runState(k.hash)).toMatchObject({ fence: run.fencingToken, attempt: 1 });
  });

  it('checks each run once the epoch moved on: an unchanged schedule is confirmed', async () => {
    const { confirm, atDue, reply } = await reserved();
    await h.upsert({ id: 'other', fireMs: (await h.redisNow()) - 1_000 });
    await h.claim(); // the other schedule now holds a run state...
    await h.upsert({ id: 'other', fireMs: (await h.redisNow()) + 60_000, payload: '"x"' }); // ...and changes
    expect(await h.epoch()).toBe(reply.epoch + 1);
    await atDue();
    const checked = await confirm();
    expect(checked).toMatchObject({ status: 'checked', verdicts: ['ok'] });
    expect((await confirm({ fence: 12345 })).status).toBe('checked');
    expect(await confirm({ fence: 12345 })).toMatchObject({ verdicts: ['lease-lost'] });
  });

  it('hands the reservation back when the schedule changed since the claim (-6), restoring the mark', async () => {
    const { confirm, atDue, k, run } = await reserved();
    await h.upsert({ id: 's1', fireMs: run.fireMs, payload: '"changed"' });
    expect(await h.client.hget(k.hash, 'rv')).toBe('2');
    await atDue();
    expect(await confirm()).toMatchObject({ status: 'checked', verdicts: ['changed'] });
    expect(await h.client.hget(k.hash, 'r')).toBeNull();
    // The same fire time is claimed again, as a first attempt with the new payload.
    const [again] = (await h.claim()).runs;
    expect(again).toMatchObject({
      claim: 'run',
      attempt: 1,
      fireMs: run.fireMs,
      payload: '"changed"',
      revision: '2',
    });
    expect(again.fencingToken).toBeGreaterThan(run.fencingToken);
  });

  it('hands a paused reservation back out of the due index (-6)', async () => {
    const { confirm, atDue, k } = await reserved();
    expect(await h.pause('s1')).toEqual({
      status: 'done',
      nextFireMs: expect.any(Number),
      nextDueMs: expect.any(Number),
    });
    await atDue();
    expect(await confirm()).toMatchObject({ verdicts: ['changed'] });
    expect(await h.score(h.dueKey(), k.member)).toBeNull();
    expect(await h.runState(k.hash)).toBeNull();
  });

  it('refuses a reservation of a removed schedule (-4) and of one removed and created again', async () => {
    const first = await reserved();
    expect(await h.scripts.removeSchedule(first.k, 's1', h.ks.wakeChannel)).toBe(true);
    await first.atDue();
    expect(await first.confirm()).toMatchObject({ verdicts: ['lease-lost'] });

    const second = await reserved();
    await h.scripts.removeSchedule(second.k, 's1', h.ks.wakeChannel);
    await h.upsert({ id: 's1', fireMs: second.run.fireMs });
    await second.atDue();
    expect(await second.confirm()).toMatchObject({ verdicts: ['lease-lost'] });
  });

  it('checks each run when the earliest lease has run out, refusing an expired one (-5)', async () => {
    const { confirm, atDue, run } = await reserved(100, 200);
    await atDue();
    await waitFor(async () => (await h.redisNow()) > run.leaseUntilMs, { timeoutMs: 5_000 });
    expect(await confirm()).toMatchObject({ status: 'checked', verdicts: ['lease-expired'] });
  });
});
