import { waitFor } from '../../support/wait-for';
import { useScriptHarness } from './script-harness';

/*
 * releaseRuns-1.lua called directly: an unstarted first attempt handed back as if never claimed.
 */

const h = useScriptHarness();

describe('releaseRuns', () => {
  it('hands an unstarted first attempt back as if never claimed: attempt 1 again, mark restored', async () => {
    const now = await h.redisNow();
    const k = h.keysOf('s1');
    await h.upsert({ id: 's1', fireMs: now - 1_000 });
    const [first] = (await h.claim()).runs;
    await h.complete(k.base, [
      h.completion(k.member, first.fencingToken, { nextFireMs: now + 300, nextDueMs: now + 300 }),
    ]);
    const [run] = (await h.claim({ lookAheadMs: 5_000 })).runs;
    expect(run).toMatchObject({ claim: 'run', fireMs: now + 300 });
    expect(await h.runState(k.hash)).toMatchObject({
      fire: now + 300,
      prevHw: String(now - 1_000),
    });

    const subscriber = h.server.client();
    const messages: string[] = [];
    subscriber.on('message', (_channel: string, message: string) => messages.push(message));
    await subscriber.subscribe(h.ks.wakeChannel);
    expect(
      await h.scripts.releaseRuns(k.base, h.ks.wakeChannel, [
        { member: k.member, fencingToken: run.fencingToken },
        { member: k.member, fencingToken: 999_999 },
      ]),
    ).toEqual(['ok', 'lease-lost']);
    expect(await h.client.hget(k.hash, 'r')).toBe(String(now - 1_000));
    expect(await h.score(h.dueKey(), k.member)).toBe(now + 300);
    // The other pods hear of it at once.
    await waitFor(() => messages.length >= 1, { timeoutMs: 5_000, message: 'a wake message' });
    expect(messages).toEqual([`${h.dueKey()} ${now + 300}`]);
    await subscriber.quit();
    const [again] = (await h.claim({ lookAheadMs: 5_000 })).runs;
    expect(again).toMatchObject({ claim: 'run', attempt: 1, fireMs: now + 300 });
  });

  it('refuses a re-run (attempt > 1): that one is given back by ending its lease', async () => {
    const now = await h.redisNow();
    const k = h.keysOf('s1');
    await h.upsert({ id: 's1', fireMs: now - 1_000 });
    await h.claim({ leaseMs: 100 });
    const again = await waitFor(async () => (await h.claim()).runs[0], { timeoutMs: 5_000 });
    expect(again.attempt).toBe(2);
    expect(
      await h.scripts.releaseRuns(k.base, h.ks.wakeChannel, [
        { member: k.member, fencingToken: again.fencingToken },
      ]),
    ).toEqual(['lease-lost']);
    expect((await h.runState(k.hash))?.fence).toBe(again.fencingToken);
  });
});
