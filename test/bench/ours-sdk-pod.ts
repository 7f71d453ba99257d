/**
 * An ours pod in an app that traces with OpenTelemetry, without this module's integrations: an SDK
 * tracer provider (no exporter) and the AsyncLocalStorage context manager, as ours-obs-pod.ts sets
 * them up. `--observability` compares ours-obs with it to tell this module's own cost from the
 * SDK's (which an app that traces pays whether or not it traces its schedules).
 */
import { runObservabilityPod } from './ours-obs-pod';

if (require.main === module) runObservabilityPod(['sdk', 'context'], false);
