/**
 * Turns what the pods and Redis reported for one measured window into the bench figures.
 *
 * Window [startMs, endMs): startMs is half a second before a whole second, so the window holds
 * exactly `seconds` whole-second fire times, and its resources are what Redis and the pods spent
 * in it.
 *  - expected runs: every nominal fire time of every schedule inside the window;
 *  - completed: expected (schedule, fireTime) pairs started at least once, by the time the pods
 *    were stopped (window end + grace);
 *  - duplicates: extra starts of a pair already started (any pod);
 *  - misses: expected pairs never started; unexpected: starts of in-window fire times that are not
 *    on the schedule's cron grid;
 *  - lateness: over every start of an in-window fire time;
 *  - per-run costs divide what was spent in the window by the runs *started* in the window
 *    (whatever their fire time), i.e. the work that the spend actually bought;
 *  - drain (herds, where every expected run has the same fire time `drainFromMs`): completed /
 *    (last start of an in-window fire time − drainFromMs), in runs/s; the last start is taken
 *    whenever it happened, window end and grace included.
 */
import { CommandStats, MemoryInfo, RUNNER_COMMANDS } from './redis-stats';
import { ResultMessage } from './pod-protocol';
import { ScheduleSpec, expectedFireTimes } from './workloads';

export interface WindowInput {
  schedules: ScheduleSpec[];
  startMs: number;
  endMs: number;
  results: ResultMessage[];
  commands: CommandStats;
  redisCpuMs: number;
  /** Redis CPU from just before registration to the window end (diagnostic). */
  redisCpuMsSinceRegister: number;
  memory: MemoryInfo;
  /** The herd's fire time: compute `drain` from it. */
  drainFromMs?: number;
}

export interface Drain {
  /** The herd's fire time. */
  fromMs: number;
  /** Latest start of an in-window fire time (NaN if none). */
  lastStartMs: number;
  /** lastStartMs − fromMs, s. */
  seconds: number;
  /** completed / seconds. */
  runsPerSec: number;
}

export interface Figures {
  expected: number;
  completed: number;
  completedPct: number;
  duplicates: number;
  misses: number;
  unexpected: number;
  runsInWindow: number;
  runsPerSec: number;
  latenessMs: {
    p50: number;
    p90: number;
    p99: number;
    max: number;
    mean: number;
    over1sPct: number;
  };
  redisCommandsPerRun: number;
  redisCpuMsPer1kRuns: number;
  podCpuMsPer1kRuns: number;
  podRssMb: number[];
  /** Each pod's peak RSS from the window start until it was stopped (grace included). */
  podRssUntilStopMb: number[];
  redisUsedMemoryMb: number;
  drain?: Drain;
  /** Top commands, calls per run started in the window. */
  commandsPerRun: Record<string, number>;
  /**
   * Redis time per run by command, µs (INFO commandstats usec / runs). A script's own entry
   * (evalsha) includes the commands it calls, which also appear under their own names.
   */
  redisUsecPerRun: Record<string, number>;
  totals: {
    redisCommands: number;
    redisCpuMs: number;
    podCpuMs: number;
    podCpuMsEach: number[];
    /** Diagnostics: whole pod process lives (ts-node startup, warm-up, grace) and Redis since registration. */
    podCpuMsLifetime: number;
    redisCpuMsSinceRegister: number;
    starts: number;
    unknownIds: number;
  };
}

export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

export function computeFigures(w: WindowInput): Figures {
  const seconds = (w.endMs - w.startMs) / 1000;
  const expectedByIndex = expectedFireTimes(w.schedules, w.startMs, w.endMs);
  let expected = 0;
  const expectedKeys = new Set<string>();
  for (const [index, times] of expectedByIndex) {
    expected += times.length;
    for (const t of times) expectedKeys.add(`${index}:${t}`);
  }

  const startsPerPair = new Map<string, number>();
  const lateness: number[] = [];
  let runsInWindow = 0;
  let starts = 0;
  let lastStartMs = NaN;
  for (const r of w.results) {
    starts += r.scheduleIndex.length;
    for (let i = 0; i < r.scheduleIndex.length; i++) {
      const fire = r.fireTimeMs[i];
      const started = r.startedAtMs[i];
      if (started >= w.startMs && started < w.endMs) runsInWindow++;
      if (fire < w.startMs || fire >= w.endMs) continue;
      const key = `${r.scheduleIndex[i]}:${fire}`;
      startsPerPair.set(key, (startsPerPair.get(key) ?? 0) + 1);
      lateness.push(r.latenessMs[i]);
      if (Number.isNaN(lastStartMs) || started > lastStartMs) lastStartMs = started;
    }
  }
  let completed = 0;
  let duplicates = 0;
  let unexpected = 0;
  for (const [key, n] of startsPerPair) {
    if (expectedKeys.has(key)) completed++;
    else unexpected++;
    duplicates += n - 1;
  }

  const sorted = Float64Array.from(lateness).sort();
  const mean = lateness.length ? lateness.reduce((a, b) => a + b, 0) / lateness.length : NaN;
  const over1s = lateness.filter((l) => l > 1000).length;

  const podCpuMsEach = w.results.map((r) => (r.cpuUserUs + r.cpuSystemUs) / 1000);
  const podCpuMs = podCpuMsEach.reduce((a, b) => a + b, 0);
  const perRun = (x: number): number => (runsInWindow ? x / runsInWindow : NaN);

  const commandsPerRun: Record<string, number> = {};
  Object.entries(w.commands.perCommand)
    .filter(([name]) => !RUNNER_COMMANDS.has(name))
    .sort((a, b) => b[1].calls - a[1].calls)
    .forEach(([name, s]) => (commandsPerRun[name] = round(perRun(s.calls), 3)));
  const redisUsecPerRun: Record<string, number> = {};
  Object.entries(w.commands.perCommand)
    .filter(([name]) => !RUNNER_COMMANDS.has(name))
    .sort((a, b) => b[1].usec - a[1].usec)
    .forEach(([name, s]) => (redisUsecPerRun[name] = round(perRun(s.usec), 2)));

  let drain: Drain | undefined;
  if (w.drainFromMs !== undefined) {
    const drainSeconds = (lastStartMs - w.drainFromMs) / 1000;
    drain = {
      fromMs: w.drainFromMs,
      lastStartMs,
      seconds: round(drainSeconds, 3),
      runsPerSec: round(completed / Math.max(drainSeconds, 0.001), 0),
    };
  }

  return {
    expected,
    completed,
    completedPct: round((100 * completed) / expected, 2),
    duplicates,
    misses: expected - completed,
    unexpected,
    runsInWindow,
    runsPerSec: round(runsInWindow / seconds, 1),
    latenessMs: {
      p50: round(percentile(sorted, 50), 1),
      p90: round(percentile(sorted, 90), 1),
      p99: round(percentile(sorted, 99), 1),
      max: round(sorted.length ? sorted[sorted.length - 1] : NaN, 1),
      mean: round(mean, 1),
      over1sPct: round(lateness.length ? (100 * over1s) / lateness.length : NaN, 2),
    },
    redisCommandsPerRun: round(perRun(w.commands.totalCalls), 2),
    redisCpuMsPer1kRuns: round(perRun(w.redisCpuMs) * 1000, 1),
    podCpuMsPer1kRuns: round(perRun(podCpuMs) * 1000, 1),
    podRssMb: w.results.map((r) => round(r.rssPeakBytes / 2 ** 20, 1)),
    podRssUntilStopMb: w.results.map((r) => round(r.rssPeakUntilStopBytes / 2 ** 20, 1)),
    redisUsedMemoryMb: round(w.memory.usedMemory / 2 ** 20, 1),
    drain,
    commandsPerRun,
    redisUsecPerRun,
    totals: {
      redisCommands: w.commands.totalCalls,
      redisCpuMs: round(w.redisCpuMs, 1),
      podCpuMs: round(podCpuMs, 1),
      podCpuMsEach: podCpuMsEach.map((x) => round(x, 1)),
      podCpuMsLifetime: round(
        w.results.reduce((a, r) => a + r.cpuLifetimeUs / 1000, 0),
        1,
      ),
      redisCpuMsSinceRegister: round(w.redisCpuMsSinceRegister, 1),
      starts,
      unknownIds: w.results.reduce((a, r) => a + r.unknownIds, 0),
    },
  };
}

export function round(x: number, digits: number): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
