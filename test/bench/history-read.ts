/**
 * One-off: how long PostgresScheduleStore.runHistory() takes for a schedule with many runs (the
 * admin dashboard reads it every 2 s). A private PostgreSQL, `--runs` runs of one schedule (plus
 * as many spread over 100 others) written through recordRunColumns in batches of 5,000, then
 * `--reads` reads of the newest 20 (after 20 warm-up reads), first as loaded (no planner
 * statistics yet), then after ANALYZE (as autovacuum leaves a table); prints mean, p50, p99 in ms.
 *
 *   node -r ts-node/register/transpile-only test/bench/history-read.ts --runs 100000 --reads 200
 */
import { performance } from 'node:perf_hooks';
import { Pool } from 'pg';
import { PostgresScheduleStore } from '../../lib/integrations/postgres';
import type { RunColumns } from '../../lib';
import { startPostgresServer } from '../support/postgres-server';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

function columns(scheduleOf: (i: number) => string, from: number, n: number): RunColumns {
  const c = {
    pod: 'bench:1',
    tenantIds: [] as string[],
    scheduleIds: [] as string[],
    fireMs: [] as number[],
    attempts: [] as number[],
    fencingTokens: [] as number[],
    statuses: [] as RunColumns['statuses'],
    startedMs: [] as number[],
    endedMs: [] as number[],
    errors: [] as (string | null)[],
    results: [] as (string | null)[],
    sequences: [] as number[],
  };
  const t0 = Date.UTC(2026, 0, 1);
  for (let i = from; i < from + n; i++) {
    c.tenantIds.push('bench');
    c.scheduleIds.push(scheduleOf(i));
    c.fireMs.push(t0 + i * 1_000);
    c.attempts.push(1);
    c.fencingTokens.push(i + 1);
    c.statuses.push('succeeded');
    c.startedMs.push(t0 + i * 1_000 + 1);
    c.endedMs.push(t0 + i * 1_000 + 5);
    c.errors.push(null);
    c.results.push(null);
    c.sequences.push(i + 1);
  }
  // A store from before the sequence column ignores the extra field.
  return c as RunColumns;
}

async function main(): Promise<void> {
  const runs = arg('runs', 100_000);
  const reads = arg('reads', 200);
  const pg = await startPostgresServer();
  const store = new PostgresScheduleStore({ connectionString: pg.url, schema: 'bench' });
  try {
    await store.init();
    for (let from = 0; from < runs; from += 5_000) {
      const n = Math.min(5_000, runs - from);
      await store.recordRunColumns(columns(() => 'hot', from, n));
      await store.recordRunColumns(columns((i) => `other-${i % 100}`, from, n));
    }
    const read = () => store.runHistory('bench', 'hot', 20);
    const check = await read();
    if (check.length !== 20) throw new Error(`read ${check.length} runs, expected 20`);
    process.stdout.write(
      `runs of the schedule: ${runs}; newest sequence read: ${check[0].sequence}\n`,
    );
    const measure = async (label: string): Promise<void> => {
      for (let i = 0; i < 20; i++) await read();
      const ms: number[] = [];
      for (let i = 0; i < reads; i++) {
        const t = performance.now();
        await read();
        ms.push(performance.now() - t);
      }
      ms.sort((a, b) => a - b);
      const at = (q: number) => ms[Math.min(ms.length - 1, Math.floor(q * ms.length))].toFixed(2);
      const mean = (ms.reduce((a, b) => a + b, 0) / ms.length).toFixed(2);
      process.stdout.write(
        `${label}: ${reads} reads of 20: mean ${mean} ms, p50 ${at(0.5)} ms, p99 ${at(0.99)} ms\n`,
      );
    };
    await measure('as loaded');
    const sql = new Pool({ connectionString: pg.url });
    await sql.query('ANALYZE bench.runs');
    await sql.end();
    await measure('after ANALYZE');
  } finally {
    await store.close();
    await pg.stop();
  }
}

void main();
