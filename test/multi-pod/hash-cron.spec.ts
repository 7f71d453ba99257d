import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { HashCronReport, HashCronSchedule } from './hash-cron.child';

const run = promisify(execFile);

const SCHEDULES: HashCronSchedule[] = [
  { tenantId: 'acme', id: 'a', cron: 'H H * * * *' },
  { tenantId: 'acme', id: 'c', cron: 'H H * * * *' },
  { tenantId: 'acme', id: 'sync', cron: 'H/20 * * * * *' },
];

/** One separate Node process running the library's code for SCHEDULES. */
async function processReport(): Promise<HashCronReport> {
  const { stdout } = await run(
    process.execPath,
    [
      '-r',
      'ts-node/register/transpile-only',
      join(__dirname, 'hash-cron.child.ts'),
      JSON.stringify(SCHEDULES),
    ],
    { cwd: join(__dirname, '..', '..'), timeout: 60_000 },
  );
  return JSON.parse(stdout) as HashCronReport;
}

/**
 * The fire times a schedule gets when each is armed by another process (as pods take turns:
 * the pod that records a run arms the next fire time from the one it ran).
 */
function takingTurns(fireLists: number[][]): number[] {
  const out: number[] = [];
  let t = -Infinity;
  for (let k = 0; k < fireLists[0].length - 1; k++) {
    const next = fireLists[k % fireLists.length].find((f) => f > t);
    if (next === undefined) break;
    out.push(next);
    t = next;
  }
  return out;
}

describe('H across processes', () => {
  let reports: HashCronReport[];
  beforeAll(async () => {
    reports = await Promise.all([processReport(), processReport(), processReport()]);
  });

  it('every process draws the same H for a schedule, stores the same timing and arms the same fire times', () => {
    expect(new Set(reports.map((r) => r.pid)).size).toBe(3);
    SCHEDULES.forEach((schedule, i) => {
      const [first, ...others] = reports.map((r) => r.schedules[i]);
      for (const other of others) expect(other).toEqual(first);
      expect(first.resolved).not.toMatch(/H/);
    });
  });

  it('two schedules of one expression draw their own values', () => {
    const [a, c] = reports[0].schedules;
    expect(a.resolved).not.toBe(c.resolved);
    expect(a.fires[0]).not.toBe(c.fires[0]);
  });

  it('H/20 passes a 20 s guard and runs exactly 20 s apart when pods take turns arming it', () => {
    const turns = takingTurns(reports.map((r) => r.schedules[2].fires));
    expect(turns.length).toBeGreaterThan(30);
    const gaps = new Set(turns.slice(1).map((t, i) => t - turns[i]));
    expect(gaps).toEqual(new Set([20_000]));
  });

  it('a timing an older version stored with H is armed alike by every process', () => {
    const [first, ...others] = reports.map((r) => r.legacyFires);
    for (const other of others) expect(other).toEqual(first);
  });
});
