import { waitFor } from '../../support/wait-for';
import { useScriptHarness } from './script-harness';

/*
 * acquireLock-2.lua, extendLock-1.lua and releaseLock-1.lua called directly. They are tested
 * together: a lock is only extended or released after it was acquired.
 */

const h = useScriptHarness();

describe('acquireLock / extendLock / releaseLock', () => {
  it('acquire is exclusive and returns a fencing token', async () => {
    const { lock, fence } = h.ks.lock('job');
    const t1 = await h.scripts.acquireLock(lock, fence, 'owner-1', 10_000);
    expect(t1).toBeGreaterThanOrEqual(1);
    expect(await h.scripts.acquireLock(lock, fence, 'owner-2', 10_000)).toBeNull();
    expect(await h.client.get(lock)).toBe('owner-1');
    const pttl = await h.client.pttl(lock);
    expect(pttl).toBeGreaterThan(9_000);
    expect(pttl).toBeLessThanOrEqual(10_000);
  });

  it('extend and release work for the owner only', async () => {
    const { lock, fence } = h.ks.lock('job');
    await h.scripts.acquireLock(lock, fence, 'owner-1', 1_000);

    expect(await h.scripts.extendLock(lock, 'owner-2', 60_000)).toBe(false);
    expect(await h.client.pttl(lock)).toBeLessThanOrEqual(1_000);
    expect(await h.scripts.extendLock(lock, 'owner-1', 60_000)).toBe(true);
    expect(await h.client.pttl(lock)).toBeGreaterThan(50_000);

    expect(await h.scripts.releaseLock(lock, 'owner-2')).toBe(false);
    expect(await h.client.get(lock)).toBe('owner-1');
    expect(await h.scripts.releaseLock(lock, 'owner-1')).toBe(true);
    expect(await h.client.exists(lock)).toBe(0);
    expect(await h.scripts.releaseLock(lock, 'owner-1')).toBe(false);
    expect(await h.scripts.extendLock(lock, 'owner-1', 1_000)).toBe(false);
    expect(await h.client.exists(lock)).toBe(0);
  });

  it('fencing tokens strictly increase across acquisitions, after release and after expiry', async () => {
    const { lock, fence } = h.ks.lock('job');
    const tokens: (number | null)[] = [];
    tokens.push(await h.scripts.acquireLock(lock, fence, 'a', 10_000));
    await h.scripts.releaseLock(lock, 'a');
    tokens.push(await h.scripts.acquireLock(lock, fence, 'b', 100));
    await waitFor(async () => (await h.client.exists(lock)) === 0, { timeoutMs: 5_000 });
    tokens.push(await h.scripts.acquireLock(lock, fence, 'c', 10_000));
    // The expired owner cannot touch the new owner's lock.
    expect(await h.scripts.extendLock(lock, 'b', 10_000)).toBe(false);
    expect(await h.scripts.releaseLock(lock, 'b')).toBe(false);
    expect(await h.client.get(lock)).toBe('c');

    const [first] = tokens as number[];
    expect(tokens).toEqual([first, first + 1, first + 2]);
    expect(tokens[0]).toBeGreaterThanOrEqual(1);
    // Only the lock and its fence counter exist.
    expect(await h.prefixKeys()).toEqual([lock, fence].sort());
  });
});
