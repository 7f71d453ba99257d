import type { RegisteredHandler } from '../../../lib/discovery/handler.registry';
import { dueTargets } from '../../../lib/engine/due-target';
import { dynamicHandlerKey, KeySpace, staticHandlerKey } from '../../../lib/redis/key-space';

const keys = new KeySpace('app', 4);
const handler = (kind: 'static' | 'dynamic', name: string): RegisteredHandler => ({
  key: kind === 'static' ? staticHandlerKey(name) : dynamicHandlerKey(name),
  name,
  kind,
  source: `Jobs.${name}`,
  invoke: () => undefined,
});

describe('due targets', () => {
  it("claims a static schedule from its name's partition only", () => {
    const nightly = handler('static', 'nightly');
    const p = keys.partitionOf('nightly');
    expect(dueTargets(keys, [nightly])).toEqual([
      {
        partition: p,
        handler: nightly,
        due: keys.dueIndex(p, nightly.key),
        fence: keys.fenceCounter(p),
        hashBase: keys.hashBase(p),
        epoch: keys.epochCounter(p),
        wakeAtMs: 0,
        hintMs: Infinity,
        offset: 0,
        heldMs: Infinity,
      },
    ]);
  });

  it('claims a dynamic handler from every partition, each due at once and in a new round', () => {
    const report = handler('dynamic', 'report');
    const targets = dueTargets(keys, [report]);
    expect(targets.map((t) => t.partition)).toEqual([0, 1, 2, 3]);
    targets.forEach((t, p) => {
      expect(t).toMatchObject({
        handler: report,
        due: keys.dueIndex(p, report.key),
        fence: keys.fenceCounter(p),
        hashBase: keys.hashBase(p),
        epoch: keys.epochCounter(p),
        wakeAtMs: 0,
        hintMs: Infinity,
        offset: 0,
        heldMs: Infinity,
      });
    });
  });

  it('gives each target a state of its own, in the order of the handlers', () => {
    const targets = dueTargets(keys, [handler('dynamic', 'report'), handler('static', 'nightly')]);
    expect(targets.map((t) => t.handler.name)).toEqual([
      'report',
      'report',
      'report',
      'report',
      'nightly',
    ]);
    expect(new Set(targets.map((t) => t.due)).size).toBe(5);
    targets[0].wakeAtMs = 99;
    expect(targets[1].wakeAtMs).toBe(0);
    expect(dueTargets(keys, [])).toEqual([]);
  });
});
