/**
 * An 'ours' pod with the PostgreSQL store (impl 'ours-store'), on the runner's private PostgreSQL
 * (`ours-store.storeUrl`), so one bench invocation measures the store's cost against 'ours':
 * `--impl ours,ours-store`.
 */
import { runPod } from './pod-protocol';
import { createPod } from './ours-pod';

if (require.main === module) {
  runPod((ctx) =>
    createPod({
      ...ctx,
      options: { ...ctx.options, storeUrl: ctx.options['ours-store.storeUrl'] },
    }),
  );
}
