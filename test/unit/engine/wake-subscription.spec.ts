import { dispatchWakeMessage, WakeHandlers } from '../../../lib/engine/wake-subscription';
import { dynamicHandlerKey, KeySpace } from '../../../lib/redis/key-space';

const keys = new KeySpace('app', 4);
const epochs = new Set(keys.partitionBases.map((_, p) => keys.epochCounter(p)));
const registry = keys.podRegistry(dynamicHandlerKey('report'));
const due = keys.dueIndex(2, dynamicHandlerKey('report'));

/** Records what a message asks for; `registries` are the keys the pod registry claims. */
function recorder(registries: string[] = [registry]) {
  const calls: unknown[][] = [];
  const handlers: WakeHandlers = {
    epochBumped: () => calls.push(['epoch']),
    registryChanged: (key) => {
      calls.push(['registry?', key]);
      return registries.includes(key);
    },
    due: (dueKey, dueMs) => calls.push(['due', dueKey, dueMs]),
  };
  return { calls, handlers };
}

describe('wake message dispatch', () => {
  it("treats '<epoch key> <n>' as an epoch bump, asking nothing else", () => {
    const { calls, handlers } = recorder();
    dispatchWakeMessage(`${keys.epochCounter(3)} 17`, epochs, handlers);
    expect(calls).toEqual([['epoch']]);
  });

  it("hands a registry's '<registry key> 0' to the pod registry, and no due time", () => {
    const { calls, handlers } = recorder();
    dispatchWakeMessage(`${registry} 0`, epochs, handlers);
    expect(calls).toEqual([['registry?', registry]]);
  });

  it("reads '<due key> <ms>' as a due time, once the registry said it is not one of its keys", () => {
    const { calls, handlers } = recorder();
    dispatchWakeMessage(`${due} 1772445600123`, epochs, handlers);
    expect(calls).toEqual([
      ['registry?', due],
      ['due', due, 1772445600123],
    ]);
  });

  it('takes the key as all before the last space', () => {
    const { calls, handlers } = recorder([]);
    dispatchWakeMessage('a key with spaces 42', epochs, handlers);
    expect(calls).toEqual([
      ['registry?', 'a key with spaces'],
      ['due', 'a key with spaces', 42],
    ]);
  });

  it("does not take another prefix's epoch key for one of this pod's", () => {
    const other = new KeySpace('other', 4);
    const { calls, handlers } = recorder([]);
    dispatchWakeMessage(`${other.epochCounter(3)} 17`, epochs, handlers);
    expect(calls).toEqual([
      ['registry?', other.epochCounter(3)],
      ['due', other.epochCounter(3), 17],
    ]);
  });
});
