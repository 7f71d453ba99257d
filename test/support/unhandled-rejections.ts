import { setImmediate } from 'node:timers';
import { inspect } from 'node:util';
import { runInThisContext } from 'node:vm';

/*
 * setupFilesAfterEnv of every jest config: an unhandled promise rejection fails the test file
 * (the idea of redis-semaphore's test/unhandledRejection.ts).
 *
 * Jest 30 already fails the test or hook during which a rejection surfaces; this file is the
 * second net: it records every rejection of the file that stays unhandled and fails the file in
 * afterAll, listing them all. Two jest details shape it:
 * - the `process` a test file sees is a copy whose listeners Node never calls, so we listen on
 *   the worker's real process, reached through vm.runInThisContext (the main context);
 * - jest-circus swaps out all 'unhandledRejection' listeners when the run starts and puts them
 *   back when it ends, so we subscribe in beforeAll (inside the run) and unsubscribe in afterAll.
 * Setup-file hooks run first: this afterAll runs before the test file's own afterAll hooks, whose
 * rejections jest itself reports.
 */

const hostProcess = runInThisContext('process') as NodeJS.Process;
const unhandled = new Map<Promise<unknown>, unknown>();

const onUnhandledRejection = (reason: unknown, promise: Promise<unknown>): void => {
  unhandled.set(promise, reason);
};
// A rejection handled later (e.g. `await expect(p).rejects` after a delay) is not a leak.
const onRejectionHandled = (promise: Promise<unknown>): void => {
  unhandled.delete(promise);
};

beforeAll(() => {
  hostProcess.on('unhandledRejection', onUnhandledRejection);
  hostProcess.on('rejectionHandled', onRejectionHandled);
});

afterAll(async () => {
  // Let rejections of the last tick reach the listeners. node:timers' setImmediate is the real
  // one even in a file that left jest's fake timers on.
  await new Promise((resolve) => setImmediate(resolve));
  hostProcess.off('unhandledRejection', onUnhandledRejection);
  hostProcess.off('rejectionHandled', onRejectionHandled);
  const reasons = [...unhandled.values()];
  unhandled.clear();
  if (reasons.length > 0) {
    const list = reasons.map((reason, i) => `#${i + 1}: ${show(reason)}`).join('\n');
    throw new Error(`${reasons.length} unhandled promise rejection(s) in this file:\n${list}`);
  }
});

function show(reason: unknown): string {
  if (reason instanceof Error) return reason.stack ?? `${reason.name}: ${reason.message}`;
  return inspect(reason, { depth: 3 });
}
