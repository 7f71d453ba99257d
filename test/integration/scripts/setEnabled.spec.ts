import { ConcurrentChangeError } from '../../../lib/errors/concurrent-change.error';
import { waitFor } from '../../support/wait-for';
import { useScriptHarness } from './script-harness';

/*
 * setEnabled-2.lua called directly: pause and resume.
 */

const h = useScriptHarness();

describe('setEnabled', () => {
  it('pause takes the schedule out of its due index and returns its stored times', async () => {
    const now = await h.redisNow();
    const k = h.keysOf('s1');
    await h.upsert({ id: 's1', fireMs: now - 1_000 });

    expect(await h.pause('s1')).toEqual({
      status: 'done',
      nextFireMs: now - 1_000,
      nextDueMs: now - 1_000,
    });
    expect(await h.score(h.dueKey(), k.member)).toBeNull();
    expect(await h.client.hmget(k.hash, 'en', 'rv')).toEqual(['0', '2']);
    expect((await h.claim()).runs).toEqual([]);
    expect(await h.epoch()).toBe(0);
  });

  it('resume re-adds the schedule with the given next fire time, bumps the revision and wakes workers', async () => {
    const subscriber = h.server.client();
    const messages: string[] = [];
    subscriber.on('message', (_channel: string, message: string) => messages.push(message));
    await subscriber.subscribe(h.ks.wakeChannel);
    const now = await h.redisNow();
    const k = h.keysOf('s1');
    const timing = '* * * * *|UTC|0';
    await h.upsert({ id: 's1', fireMs: now + 60_000 });
    await h.pause('s1');

    expect(
      await h.scripts.setEnabled(
        k,
        { enabled: true, nextFireMs: now + 5_000, nextDueMs: now + 5_500, timing: timing },
        h.ks.wakeChannel,
      ),
    ).toEqual({ status: 'done', nextFireMs: now + 5_000, nextDueMs: now + 5_500 });
    expect(await h.score(h.dueKey(), k.member)).toBe(now + 5_500);
    expect(await h.client.hmget(k.hash, 'en', 'nf', 'nd', 'rv')).toEqual([
      null,
      String(now + 5_000),
      String(now + 5_500),
      '3',
    ]);
    await waitFor(() => messages.length >= 2, { timeoutMs: 5_000, message: 'the resume wake-up' });
    expect(messages).toEqual([`${h.dueKey()} ${now + 60_000}`, `${h.dueKey()} ${now + 5_500}`]);

    // Resuming an enabled schedule changes nothing.
    expect(
      await h.scripts.setEnabled(
        k,
        { enabled: true, nextFireMs: now + 9_000, nextDueMs: now + 9_000, timing: timing },
        h.ks.wakeChannel,
      ),
    ).toEqual({ status: 'done', nextFireMs: now + 5_000, nextDueMs: now + 5_500 });
    expect(await h.score(h.dueKey(), k.member)).toBe(now + 5_500);
    await subscriber.quit();
  });

  it('refuses a resume computed from a timing that changed since it was read (-6)', async () => {
    const now = await h.redisNow();
    const k = h.keysOf('s1');
    await h.upsert({ id: 's1', fireMs: now + 60_000 });
    await h.pause('s1');
    await h.upsert({ id: 's1', fireMs: now + 60_000, cron: '0 * * * *', enabled: false });
    expect(
      await h.scripts.setEnabled(
        k,
        {
          enabled: true,
          nextFireMs: now + 5_000,
          nextDueMs: now + 5_000,
          timing: '* * * * *|UTC|0',
        },
        h.ks.wakeChannel,
      ),
    ).toMatchObject({ status: 'changed', error: expect.any(ConcurrentChangeError) });
    expect(await h.client.hget(k.hash, 'en')).toBe('0');
    expect(await h.score(h.dueKey(), k.member)).toBeNull();
  });

  it('pausing a schedule that holds a run state moves the change epoch on', async () => {
    const now = await h.redisNow();
    const k = h.keysOf('s1');
    await h.upsert({ id: 's1', fireMs: now - 1_000 });
    const [run] = (await h.claim()).runs;
    await h.pause('s1');
    expect(await h.epoch()).toBe(1);
    // The run's entry stays (its lease) until it ends.
    expect(await h.score(h.dueKey(), k.member)).toBe(run.leaseUntilMs);
  });

  it('returns {0} for an unknown schedule and creates nothing', async () => {
    const k = h.keysOf('nope');
    expect(await h.pause('nope')).toEqual({ status: 'not-found' });
    expect(
      await h.scripts.setEnabled(
        k,
        { enabled: true, nextFireMs: 1, nextDueMs: 1, timing: '' },
        h.ks.wakeChannel,
      ),
    ).toEqual({ status: 'not-found' });
    expect(await h.prefixKeys()).toEqual([]);
  });

  it("while the tenant is paused, changes only the schedule's own state ('tp')", async () => {
    const now = await h.redisNow();
    const k = h.keysOf('s1');
    await h.upsert({ id: 's1', fireMs: now + 60_000 });
    await h.scripts.pauseTenant(h.ks.partitionBases[0], 'acme', h.ks.wakeChannel);
    expect(await h.pause('s1')).toMatchObject({ status: 'done' });
    expect(await h.client.hmget(k.hash, 'en', 'tp')).toEqual(['0', '0']);
    const resumed = await h.scripts.setEnabled(
      k,
      { enabled: true, nextFireMs: now + 1_000, nextDueMs: now + 1_000, timing: 'stale|UTC|0' },
      h.ks.wakeChannel,
    );
    expect(resumed).toMatchObject({ status: 'done' });
    // Still paused by its tenant: not armed, its own state is 'enabled' for resumeTenant.
    expect(await h.client.hmget(k.hash, 'en', 'tp', 'nf')).toEqual([
      '0',
      '1',
      String(now + 60_000),
    ]);
    expect(await h.score(h.dueKey(), k.member)).toBeNull();
  });

  it('a runtime pause is kept when the schedule is upserted again as enabled, until a resume clears it', async () => {
    const now = await h.redisNow();
    const k = h.keysOf('s1');
    const timing = '* * * * *|UTC|0';
    await h.upsert({ id: 's1', fireMs: now + 60_000 });
    await h.scripts.setEnabled(
      k,
      { enabled: false, nextFireMs: 0, nextDueMs: 0, timing: '', runtime: true },
      h.ks.wakeChannel,
    );
    expect(await h.client.hmget(k.hash, 'en', 'ps')).toEqual(['0', '1']);
    // A pod declares it again at boot (enabled): it stays paused and out of its due index.
    await h.upsert({ id: 's1', fireMs: now + 5_000 });
    expect(await h.client.hmget(k.hash, 'en', 'ps')).toEqual(['0', '1']);
    expect(await h.score(h.dueKey(), k.member)).toBeNull();
    // A plain pause never marks it.
    await h.scripts.setEnabled(
      k,
      { enabled: true, nextFireMs: now + 7_000, nextDueMs: now + 7_000, timing },
      h.ks.wakeChannel,
    );
    expect(await h.client.hmget(k.hash, 'en', 'ps')).toEqual([null, null]);
    expect(await h.score(h.dueKey(), k.member)).toBe(now + 7_000);
    await h.pause('s1');
    expect(await h.client.hget(k.hash, 'ps')).toBeNull();
    await h.upsert({ id: 's1', fireMs: now + 5_000 });
    expect(await h.client.hget(k.hash, 'en')).toBeNull();
  });
  it('leaves a finished one-off task as it is: neither a pause nor a resume writes anything', async () => {
    const now = await h.redisNow();
    const k = h.keysOf('s1');
    const at = now - 10;
    await h.upsert({ id: 's1', cron: `@at:${at}`, fireMs: at });
    const [run] = (await h.claim()).runs;
    await h.complete(k.base, [
      h.completion(run.member, run.fencingToken, { chain: 'finish', nextDueMs: 60_000 }),
    ]);
    const before = await h.client.hgetall(k.hash);
    const timing = `@at:${at}|UTC|0`;
    for (const enabled of [false, true]) {
      expect(
        await h.scripts.setEnabled(
          k,
          { enabled, nextFireMs: at, nextDueMs: at, timing },
          h.ks.wakeChannel,
        ),
      ).toEqual({ status: 'done', nextFireMs: at, nextDueMs: at });
    }
    // Not armed again (it would be claimed as a stale run and finished anew, its expiry pushed on).
    expect(await h.client.hgetall(k.hash)).toEqual(before);
    expect(await h.score(h.dueKey(), k.member)).toBeNull();
  });
});
