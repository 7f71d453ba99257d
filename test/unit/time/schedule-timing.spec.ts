import { CronExpressionParser } from 'cron-parser';
import { CronSchedule } from '../../../lib/time/cron';
import { ScheduleTiming } from '../../../lib/time/schedule-timing';

/** The seconds cron-parser draws for 'H/20' with `seed`, as a field ('3,23,43'). */
function drawnSeconds(seed: string): string {
  return CronExpressionParser.parse('H/20 * * * * *', { hashSeed: seed }).fields.second.values.join(
    ',',
  );
}

describe('ScheduleTiming', () => {
  it('stores the cron with its H resolved, so a pod decodes it without any seed', () => {
    const cron = CronSchedule.of('H/20 * * * * *', 'Europe/Paris', 'acme:a');
    const timing = ScheduleTiming.of(cron, 5_000);
    expect(timing.stored).toBe(`${drawnSeconds('acme:a')} * * * * *|Europe/Paris|5000`);
    expect(ScheduleTiming.decode(timing.stored).series).toBe(cron);
  });

  it('decodes a timing stored with H by an older version as every process does: drawn from the stored text', () => {
    const stored = 'H/20 * * * * *|UTC|0';
    const decoded = ScheduleTiming.decode(stored).series;
    expect(decoded.expression).toBe(`${drawnSeconds(stored)} * * * * *`);
    const t = Date.parse('2026-06-01T00:00:00Z');
    const first = Number(drawnSeconds(stored).split(',')[0]);
    expect(decoded.nextAfter(t)).toBe(t + first * 1000);
  });
});
