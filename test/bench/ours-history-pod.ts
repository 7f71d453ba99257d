/**
 * An 'ours' pod with the module's runHistory at 20 whatever `--opt runHistory` says (impl
 * 'ours-history'), so one bench invocation measures the run history's cost against 'ours'.
 */
import { runPod } from './pod-protocol';
import { createPod } from './ours-pod';

if (require.main === module) {
  runPod((ctx) => createPod({ ...ctx, options: { ...ctx.options, runHistory: '20' } }));
}
