import { Logger } from '@nestjs/common';
import { type HeartbeatPort, PodRegistry } from '../../../lib/engine/pod-registry';

type HeartbeatArgs = Parameters<HeartbeatPort['heartbeat']>;
type HeartbeatReply = Awaited<ReturnType<HeartbeatPort['heartbeat']>>;

const INTERVAL_MS = 1_000;
const POD = 'pod-b';

/** A registry over a fake heartbeat answering with `reply`, recording every call. */
function harness(reply: (registries: readonly string[], ttlMs: number) => Promise<HeartbeatReply>) {
  const calls: { registries: string[]; podId: string; ttlMs: number; wake: string; at: number }[] =
    [];
  const heartbeat = jest.fn(async (...[registries, podId, ttlMs, wake]: HeartbeatArgs) => {
    calls.push({ registries: [...registries], podId, ttlMs, wake, at: Date.now() });
    return reply(registries, ttlMs);
  });
  const registry = new PodRegistry(
    POD,
    { podRegistry: (handlerKey) => `reg:${handlerKey}`, wakeChannel: 'wake' },
    { heartbeat },
    INTERVAL_MS,
  );
  return { registry, calls, heartbeat };
}

/** Every registry lists these pods. */
const pods =
  (...ids: string[]) =>
  async (registries: readonly string[]): Promise<HeartbeatReply> =>
    registries.map(() => ids);

const advance = (ms: number): Promise<void> => jest.advanceTimersByTimeAsync(ms);

let debug: jest.SpyInstance;

beforeEach(() => {
  jest.useFakeTimers({ now: 1_000_000 });
  debug = jest.spyOn(Logger.prototype, 'debug').mockImplementation(() => undefined);
});

afterEach(() => {
  jest.useRealTimers();
  jest.restoreAllMocks();
});

describe('PodRegistry: shares', () => {
  it('is alone until a heartbeat answers: one pod, rank 0, owning every schedule', () => {
    const h = harness(pods('pod-a', POD));
    expect(h.registry.shareOf('h1')).toEqual({ pods: 1, rank: 0 });
    for (let incarnation = 0; incarnation < 5; incarnation++) {
      expect(h.registry.owns('h1', incarnation)).toBe(true);
    }
    expect(h.heartbeat).not.toHaveBeenCalled();
  });

  it('start joins every handler’s registry in one heartbeat (ttl: three intervals) and takes its rank in each', async () => {
    const h = harness(async (registries) =>
      registries.map((key) => (key === 'reg:h1' ? ['pod-a', POD, 'pod-c'] : [POD])),
    );
    await h.registry.start(['h1', 'h2']);
    expect(h.calls).toEqual([
      {
        registries: ['reg:h1', 'reg:h2'],
        podId: POD,
        ttlMs: 3 * INTERVAL_MS,
        wake: 'wake',
        at: 1_000_000,
      },
    ]);
    expect(h.registry.shareOf('h1')).toEqual({ pods: 3, rank: 1 });
    expect(h.registry.shareOf('h2')).toEqual({ pods: 1, rank: 0 });
    expect(h.registry.shareOf('h3')).toEqual({ pods: 1, rank: 0 });
  });

  it('owns a schedule when its incarnation number modulo the pods is this pod’s rank', async () => {
    const h = harness(pods('pod-a', POD, 'pod-c'));
    await h.registry.start(['h1']);
    const owned = Array.from({ length: 9 }, (_, n) => h.registry.owns('h1', n));
    expect(owned).toEqual([false, true, false, false, true, false, false, true, false]);
    expect(h.registry.owns('other', 3)).toBe(true);
  });

  it('a reply that does not list this pod leaves it alone (one pod, rank 0)', async () => {
    const h = harness(pods('pod-a', 'pod-c'));
    await h.registry.start(['h1']);
    expect(h.registry.shareOf('h1')).toEqual({ pods: 1, rank: 0 });
  });
});

describe('PodRegistry: heartbeats', () => {
  it('beats every intervalMs with one timer, and takes the shares each beat answers', async () => {
    let list = ['pod-a', POD];
    const h = harness(async (registries) => registries.map(() => list));
    await h.registry.start(['h1']);
    expect(jest.getTimerCount()).toBe(1);
    expect(h.registry.shareOf('h1')).toEqual({ pods: 2, rank: 1 });

    list = [POD, 'pod-c', 'pod-d'];
    await advance(INTERVAL_MS - 1);
    expect(h.calls).toHaveLength(1);
    await advance(1);
    expect(h.calls).toHaveLength(2);
    expect(h.registry.shareOf('h1')).toEqual({ pods: 3, rank: 0 });
    await advance(2 * INTERVAL_MS);
    expect(h.calls.map((c) => c.at - 1_000_000)).toEqual([0, 1_000, 2_000, 3_000]);
    expect(jest.getTimerCount()).toBe(1);
  });

  it('with no handlers it never beats', async () => {
    const h = harness(pods(POD));
    await h.registry.start([]);
    await advance(10 * INTERVAL_MS);
    expect(h.heartbeat).not.toHaveBeenCalled();
    expect(jest.getTimerCount()).toBe(0);
    expect(h.registry.changed('reg:h1')).toBe(false);
  });

  it('changed(): a registry’s key beats at once and says true; any other key neither', async () => {
    let list = [POD];
    const h = harness(async (registries) => registries.map(() => list));
    await h.registry.start(['h1', 'h2']);
    list = ['pod-a', POD];

    expect(h.registry.changed('some:other:key')).toBe(false);
    expect(h.registry.changed('h1')).toBe(false); // a handler key is not a registry key
    await advance(0);
    expect(h.calls).toHaveLength(1);

    expect(h.registry.changed('reg:h2')).toBe(true);
    await advance(0);
    expect(h.calls).toHaveLength(2);
    expect(h.calls[1].at).toBe(1_000_000);
    expect(h.registry.shareOf('h2')).toEqual({ pods: 2, rank: 1 });
  });

  it('a failing heartbeat keeps the last known shares and logs once until one succeeds again', async () => {
    let failing = false;
    const h = harness(async (registries) => {
      if (failing) throw new Error('ECONNREFUSED');
      return registries.map(() => ['pod-a', POD, 'pod-c']);
    });
    await h.registry.start(['h1']);
    failing = true;
    await advance(3 * INTERVAL_MS);
    expect(h.calls).toHaveLength(4);
    expect(h.registry.shareOf('h1')).toEqual({ pods: 3, rank: 1 });
    expect(debug).toHaveBeenCalledTimes(1);
    expect(debug.mock.calls[0][0]).toMatch(/Heartbeat failed: ECONNREFUSED/);

    failing = false;
    await advance(INTERVAL_MS);
    failing = true;
    await advance(INTERVAL_MS);
    expect(debug).toHaveBeenCalledTimes(2);
  });

  it('start resolves even when the first heartbeat fails (alone meanwhile)', async () => {
    const h = harness(async () => {
      throw new Error('down');
    });
    await expect(h.registry.start(['h1'])).resolves.toBeUndefined();
    expect(h.registry.shareOf('h1')).toEqual({ pods: 1, rank: 0 });
  });
});

describe('PodRegistry: stop', () => {
  it('leaves every registry (a heartbeat with ttl 0) and beats no more', async () => {
    const h = harness(pods(POD));
    await h.registry.start(['h1', 'h2']);
    await h.registry.stop();
    expect(h.calls.at(-1)).toMatchObject({
      registries: ['reg:h1', 'reg:h2'],
      podId: POD,
      ttlMs: 0,
      wake: 'wake',
    });
    expect(jest.getTimerCount()).toBe(0);
    await advance(10 * INTERVAL_MS);
    expect(h.calls).toHaveLength(2);
  });

  it('does not join again when the wake message of its own leaving comes back', async () => {
    const h = harness(pods(POD));
    await h.registry.start(['h1']);
    await h.registry.stop();
    expect(h.registry.changed('reg:h1')).toBe(true); // still its registry: not a due index
    await advance(10 * INTERVAL_MS);
    expect(h.calls.map((c) => c.ttlMs)).toEqual([3 * INTERVAL_MS, 0]);
  });

  it('waits at most 1 s for a Redis that does not answer', async () => {
    const h = harness(async (registries, ttlMs) =>
      ttlMs === 0 ? new Promise<HeartbeatReply>(() => undefined) : registries.map(() => [POD]),
    );
    await h.registry.start(['h1']);
    let stopped = false;
    const stopping = h.registry.stop().then(() => (stopped = true));
    await advance(999);
    expect(stopped).toBe(false);
    await advance(1);
    await stopping;
    expect(stopped).toBe(true);
  });

  it('does not throw when leaving fails, and leaves no timer behind', async () => {
    const h = harness(async (registries, ttlMs) => {
      if (ttlMs === 0) throw new Error('ECONNREFUSED');
      return registries.map(() => [POD]);
    });
    await h.registry.start(['h1']);
    await expect(h.registry.stop()).resolves.toBeUndefined();
    expect(jest.getTimerCount()).toBe(0);
  });

  it('without registries it calls nothing', async () => {
    const h = harness(pods(POD));
    await h.registry.stop();
    await h.registry.start([]);
    await h.registry.stop();
    expect(h.heartbeat).not.toHaveBeenCalled();
  });
});
