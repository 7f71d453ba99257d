import type { ScheduleTiming } from '../time/schedule-timing';
import { withJitter, type Arming } from './fire-planner';

/**
 * The next `count` fire times of a schedule from `firstFireMs` (itself one), each with its due time
 * (fire time + the schedule's deterministic jitter offset), as the engine arms them. The one
 * place that walks a timing forward for display: another kind of timing plugs in here.
 */
export function upcomingFires(
  timing: ScheduleTiming,
  member: string,
  firstFireMs: number,
  count: number,
): Arming[] {
  const fires: Arming[] = [];
  let fireMs = firstFireMs;
  while (fires.length < count && Number.isFinite(fireMs)) {
    fires.push(withJitter(timing.series, member, timing.jitterMs, fireMs));
    fireMs = timing.series.nextAfter(fireMs);
  }
  return fires;
}
