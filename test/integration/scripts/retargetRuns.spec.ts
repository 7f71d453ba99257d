import { useScriptHarness } from './script-harness';

/*
 * retargetRuns-1.lua called directly: a held first attempt moved to a later fire time.
 */

const h = useScriptHarness();

describe('retargetRuns', () => {
  it('moves a held first attempt forward, with the mark and the stored next fire time', async () => {
    const now = await h.redisNow();
    const k = h.keysOf('s1');
    await h.upsert({ id: 's1', fireMs: now - 5_000 });
    const [run] = (await h.claim()).runs;
    expect(
      await h.scripts.retargetRuns(k.base, [
        { member: k.member, fencingToken: run.fencingToken, fireMs: now - 1_000, dueMs: now - 900 },
        { member: k.member, fencingToken: 999_999, fireMs: now, dueMs: now },
        // not due yet by Redis TIME: refused, nothing written
        {
          member: k.member,
          fencingToken: run.fencingToken,
          fireMs: now + 60_000,
          dueMs: now + 60_000,
        },
      ]),
    ).toEqual(['ok', 'lease-lost', 'too-early']);
    expect(await h.runState(k.hash)).toMatchObject({ fire: now - 1_000, fence: run.fencingToken });
    expect(await h.client.hmget(k.hash, 'nf', 'nd')).toEqual([
      String(now - 1_000),
      String(now - 900),
    ]);
  });
});
