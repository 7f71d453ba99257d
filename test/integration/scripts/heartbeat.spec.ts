import { waitFor } from '../../support/wait-for';
import { useScriptHarness } from './script-harness';

/*
 * heartbeat-1.lua called directly: the pod registry of a handler and its change announcements.
 */

const h = useScriptHarness();

describe('heartbeat', () => {
  it('lists the live pods of a registry, sorted; an expired or leaving pod is out', async () => {
    const registry = h.ks.podRegistry('h:h1');
    expect(await h.scripts.heartbeat([registry], 'pod-b', 10_000, h.ks.wakeChannel)).toEqual([
      ['pod-b'],
    ]);
    expect(await h.scripts.heartbeat([registry], 'pod-c', 150, h.ks.wakeChannel)).toEqual([
      ['pod-b', 'pod-c'],
    ]);
    expect(await h.scripts.heartbeat([registry], 'pod-a', 10_000, h.ks.wakeChannel)).toEqual([
      ['pod-a', 'pod-b', 'pod-c'],
    ]);
    await waitFor(
      async () =>
        (await h.scripts.heartbeat([registry], 'pod-a', 10_000, h.ks.wakeChannel))[0].length === 2,
      { timeoutMs: 5_000, message: 'pod-c to expire' },
    );
    expect(await h.scripts.heartbeat([registry], 'pod-b', 0, h.ks.wakeChannel)).toEqual([
      ['pod-a'],
    ]);
    expect(await h.client.pttl(registry)).toBeGreaterThan(10_000);
  });

  it('announces a change of the set of pods on the wake channel, and only a change', async () => {
    const registry = h.ks.podRegistry('h:h1');
    const subscriber = h.server.client();
    const messages: string[] = [];
    subscriber.on('message', (_channel: string, message: string) => messages.push(message));
    await subscriber.subscribe(h.ks.wakeChannel);
    await h.scripts.heartbeat([registry], 'pod-a', 10_000, h.ks.wakeChannel); // joins
    await h.scripts.heartbeat([registry], 'pod-a', 10_000, h.ks.wakeChannel); // stays: silent
    await h.scripts.heartbeat([registry], 'pod-b', 10_000, h.ks.wakeChannel); // joins
    await h.scripts.heartbeat([registry], 'pod-b', 0, h.ks.wakeChannel); // leaves
    await waitFor(() => messages.length >= 3, { timeoutMs: 5_000, message: '3 messages' });
    expect(messages).toEqual([`${registry} 0`, `${registry} 0`, `${registry} 0`]);
    await h.scripts.heartbeat([registry], 'pod-a', 10_000, h.ks.wakeChannel);
    await subscriber.quit();
    expect(messages).toHaveLength(3);
  });
});
