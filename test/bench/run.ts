/**
 * Bench runner: one private redis-server (or, with `--cluster`, a private Redis Cluster),
 * implementations measured in turn on a list of cases.
 *
 *   node -r ts-node/register/transpile-only test/bench/run.ts \
 *     --workload steady|herd|registry|sweep|all --impl bullmq|ours|ours-history|both|<a,b> \
 *     [--schedules 1000,5000] \
 *     [--pods 2] [--seconds N] [--warmup N] [--grace N] [--opt key=value ...] \
 *     [--herd-lead S] [--register-budget S] [--run-skipped] [--cpu-prof DIR] \
 *     [--pod-exec-arg=--flag ...] [--cluster [--cluster-masters 3]] [--out test/bench/results]
 *
 * `--workload all` (what `npm run bench` runs) = steady 1k, 5k, 20k, 40k; herd 100k, 1M;
 * registry 1k, 1M; sweep 20k…60k. BullMQ is not run on the 1M herd nor the sweep (a row says
 * why and how long it would take) unless `--run-skipped`.
 *
 * Sweep: steady cases at rising rates (`--schedules` = the steps, default 20k, 30k, 40k, 50k,
 * 60k schedules firing every second), run in order per implementation and stopped after the first
 * step with misses (or an error); reports the highest rate held with 0 misses, and duplicates at
 * every step (above the limit runs must be skipped, never doubled).
 *
 * `--cluster`: N masters (default 3, no replicas) on free loopback ports
 * (test/support/redis-cluster.ts); setups and pods get the masters as `clusterNodes` and connect
 * with ioredis Cluster clients; ours defaults to `partitions=12`, BullMQ uses the prefix `{bench}`
 * (one hash tag: the whole queue on one shard). Commands, CPU and memory are summed over the
 * nodes, CONFIG RESETSTAT and FLUSHALL go to every node; case labels end in ` cluster`.
 *
 * Window workloads (steady, herd), per implementation: FLUSHALL, register the schedules
 * (ImplSetup.register), fork the pods, wait for ready, then a measured window of `--seconds`
 * starting half a second before a whole second (steady: after `--warmup`; herd: half a second
 * before the herd's fire time): CONFIG RESETSTAT + Redis CPU baseline + pods' cpuUsage baseline
 * ('mark start'), and at the end commandstats, Redis CPU, memory and the pods' cpuUsage delta
 * ('mark end'). After a grace period for late starts the pods are stopped and send their starts
 * back. A herd's grace ends early once the pods report as many starts as there are schedules and
 * no new start for HERD_SETTLE_MS.
 *
 * Registry workload, per implementation and size: FLUSHALL, register (timed, within
 * `--register-budget`), Redis used_memory before/after, fork the pods (time from fork to ready),
 * then an idle window (nothing is due) for the pods' RSS and idle CPU.
 *
 * Prints one table (and ours/bullmq ratio rows), then PASS/MISS for every target of issues #4
 * and #9 (item 8), and writes test/bench/results/<timestamp>.json.
 */
import { execSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import type { SetupContext } from './impl-setup';
import { BOTH, getImplementation, OBSERVABILITY } from './impls';
import { computeFigures, Figures, round } from './metrics';
import { forkPod, nowMs, PodProcess, ReadyMessage, ResultMessage } from './pod-protocol';
import { formatSummary, ProfileSummary, summariseProfile } from './profile';
import { measured, Row } from './rows';
import {
  CpuReference,
  evaluateTargets,
  formatTargets,
  REFERENCE_STEADY_5K,
  summariseSweep,
  sweepStepHeld,
} from './targets';
import { BenchRedis, startBenchRedis } from './bench-redis';
import { startPostgresServer } from '../support/postgres-server';
import {
  CommandStats,
  flushAll,
  luaCallsAreCounted,
  MemoryInfo,
  NodeSum,
  readCommandStats,
  readCpuMs,
  readMemory,
  resetStats,
} from './redis-stats';
import { cronAt, getWorkload, hourlyCronAwayFrom, ScheduleSpec, WORKLOADS } from './workloads';

// ---------------------------------------------------------------- command line

interface Args {
  workload: string;
  schedules?: number[];
  impls: string[];
  pods: number;
  seconds?: number;
  warmup?: number;
  grace?: number;
  options: Record<string, string>;
  out: string;
  podExecArgv: string[];
  cpuProfDir?: string;
  herdLeadS?: number;
  registerBudgetS: number;
  /** Run implementations on cases where they are skipped by default (skipReason). */
  runSkipped: boolean;
  /** `--reference FILE`: the no-regression reference from an earlier report (readReference). */
  reference?: CpuReference;
  /** Run on a private Redis Cluster of `clusterMasters` masters instead of one server. */
  cluster: boolean;
  clusterMasters: number;
  /** `--observability`: ours without and with the metrics and tracing integrations (issue 11). */
  observability: boolean;
}

interface Case {
  workload: string;
  schedules: number;
  impls: string[];
  seconds: number;
  warmup: number;
  grace: number;
  /** Label suffix: '' on a single server, ' cluster' (' cluster<N>' for N ≠ 3 masters). */
  topology: string;
}

/** Per-workload defaults: what `--workload all` runs and how long. */
const DEFAULTS: Record<
  string,
  { schedules: number[]; seconds: number; warmup: number; grace: number }
> = {
  // Warm-up: pods start with every registered fire time missed while they booted, and need a few
  // seconds at 20k/s to catch up (misfire policy) and settle; the window measures the steady state.
  steady: { schedules: [1_000, 5_000, 20_000, 40_000], seconds: 20, warmup: 6, grace: 3 },
  // Above 100k the window and grace grow with the herd: see herdWindow.
  herd: { schedules: [100_000, 1_000_000], seconds: 10, warmup: 0, grace: 20 },
  registry: { schedules: [1_000, 1_000_000], seconds: 5, warmup: 2, grace: 0 },
  // Shorter windows than `steady`: up to 5 steps of register + start + warm-up + window each.
  sweep: {
    schedules: [20_000, 30_000, 40_000, 50_000, 60_000],
    seconds: 10,
    warmup: 6,
    grace: 3,
  },
};

/** `--workload all`, in this order. */
const ALL_WORKLOADS = ['steady', 'herd', 'registry', 'sweep'];

/** Issue #9 target: a 1M herd drains at ≥ 50,000 runs/s. */
const HERD_DRAIN_TARGET_PER_SEC = 50_000;

/**
 * Window and grace of a herd of `schedules` (unless --seconds / --grace say otherwise): up to
 * 100k the defaults (10 s, 20 s grace); above, a window that holds the whole drain at the target
 * rate plus 5 s (1M: 25 s) and a grace for a drain at 10,000 runs/s (1M: 100 s), which ends early
 * once every run started (HERD_SETTLE_MS).
 */
function herdWindow(schedules: number): { seconds: number; grace: number } {
  const d = DEFAULTS.herd;
  if (schedules <= 100_000) return { seconds: d.seconds, grace: d.grace };
  return {
    seconds: Math.ceil(schedules / HERD_DRAIN_TARGET_PER_SEC) + 5,
    grace: Math.max(d.grace, Math.ceil(schedules / 10_000)),
  };
}

/** A herd's grace ends once every run started and no new start came for this long. */
const HERD_SETTLE_MS = 3_000;

/**
 * BullMQ figures of the README's last full run (commit 259044b), for the time a skipped case
 * would take: upsertJobScheduler at 1M registered ~4,800 schedulers/s; the 100k herd started
 * ~1,200 runs/s (37,146 in the 30 s counted).
 */
/** `--observability`: the steady rate of issue 11 item 5, and its target (pod CPU per run). */
const OBSERVABILITY_RATE = 5_000;
const OBSERVABILITY_MAX_RATIO = 1.15;

/**
 * `--observability`: pod CPU per run of ours with metrics and tracing over ours without, each the
 * mean over its rows (the rounds alternate the two, so that a change of load hits both).
 */
function observabilityCost(
  rows: Row[],
): { ratio: number; ratioOverSdk: number; line: string } | undefined {
  const mean = (impl: string): number => {
    const values = rows.filter((r) => r.impl === impl && measured(r) && r.figures);
    const cpu = values.map((r) => r.figures?.podCpuMsPer1kRuns ?? NaN);
    return cpu.reduce((a, b) => a + b, 0) / cpu.length;
  };
  const [off, sdk, on] = OBSERVABILITY.map(mean);
  if (![off, sdk, on].every(Number.isFinite) || off === 0 || sdk === 0) return undefined;
  const ratio = on / off;
  const verdict = ratio <= OBSERVABILITY_MAX_RATIO ? 'PASS' : 'MISS';
  return {
    ratio: round(ratio, 3),
    ratioOverSdk: round(on / sdk, 3),
    line:
      `${verdict} observability cost (issue 11): pod CPU per run with metrics + tracing (SDK, no ` +
      `exporter) ${round(on, 1)} ms/1k vs ${round(off, 1)} ms/1k without = ${ratio.toFixed(3)}x ` +
      `(target ≤ ${OBSERVABILITY_MAX_RATIO}x)\n` +
      `     of which the integrations themselves: ${(on / sdk).toFixed(3)}x over the same app ` +
      `with the OpenTelemetry SDK and context manager but no integration (${round(sdk, 1)} ms/1k)`,
  };
}

const BULLMQ_REGISTER_PER_SEC = 4_800;
const BULLMQ_HERD_RUNS_PER_SEC = 1_200;

/**
 * Why `impl` does not run case `c` by default (undefined = it runs). BullMQ on the 1M herd would
 * take a quarter of an hour, and a sweep from 20k/s would only count its misses: its steady rows
 * miss runs from 1k/s on.
 */
function skipReason(impl: string, c: Case, args: Args): string | undefined {
  if (args.runSkipped || impl !== 'bullmq') return undefined;
  if (c.workload === 'herd' && c.schedules > 100_000) {
    const minutes =
      c.schedules / BULLMQ_REGISTER_PER_SEC / 60 + c.schedules / BULLMQ_HERD_RUNS_PER_SEC / 60;
    return (
      `not run (would take > ${Math.floor(minutes)} min: registering at ~${BULLMQ_REGISTER_PER_SEC}/s, ` +
      `draining at ~${BULLMQ_HERD_RUNS_PER_SEC} runs/s; --run-skipped runs it)`
    );
  }
  if (c.workload === 'sweep') {
    return (
      'not run (BullMQ already misses runs at steady 1k/s and 5k/s, see the steady rows: ' +
      `a sweep from ${c.schedules}/s would only count misses; --run-skipped runs it)`
    );
  }
  return undefined;
}

function parseCli(argv: string[]): Args {
  const { values } = parseArgs({
    args: argv,
    options: {
      workload: { type: 'string', default: 'steady' },
      schedules: { type: 'string' },
      seconds: { type: 'string' },
      impl: { type: 'string', default: 'bullmq' },
      pods: { type: 'string', default: '2' },
      warmup: { type: 'string' },
      grace: { type: 'string' },
      opt: { type: 'string', multiple: true, default: [] },
      out: { type: 'string', default: path.join(__dirname, 'results') },
      'pod-exec-arg': { type: 'string', multiple: true, default: [] },
      'cpu-prof': { type: 'string' },
      'herd-lead': { type: 'string' },
      'register-budget': { type: 'string', default: '150' },
      'run-skipped': { type: 'boolean', default: false },
      reference: { type: 'string' },
      cluster: { type: 'boolean', default: false },
      'cluster-masters': { type: 'string' },
      observability: { type: 'boolean', default: false },
      'obs-rounds': { type: 'string', default: '2' },
    },
  });
  const num = (name: string, v: string | undefined, min: number): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number ≥ ${min}`);
    return n;
  };
  const opt = (name: string, v: string | undefined, min: number): number | undefined =>
    v === undefined ? undefined : num(name, v, min);
  const options: Record<string, string> = {};
  for (const kv of values.opt ?? []) {
    const i = kv.indexOf('=');
    if (i <= 0) throw new Error(`--opt expects key=value, got '${kv}'`);
    options[kv.slice(0, i)] = kv.slice(i + 1);
  }
  // --cluster-masters implies --cluster. Ours spreads its due index over the shards: 12
  // partitions (4 per master on 3) unless --opt partitions= / ours.partitions= says otherwise.
  const cluster = values.cluster === true || values['cluster-masters'] !== undefined;
  const clusterMasters = Math.floor(num('cluster-masters', values['cluster-masters'] ?? '3', 3));
  if (cluster && options['partitions'] === undefined && options['ours.partitions'] === undefined)
    options['partitions'] = '12';
  const workload = values.workload ?? 'steady';
  if (workload !== 'all' && !WORKLOADS[workload]) {
    throw new Error(
      `unknown workload '${workload}' (known: all, ${Object.keys(WORKLOADS).join(', ')})`,
    );
  }
  return {
    workload,
    schedules:
      values.schedules
        ?.split(',')
        .map((s) => Math.floor(num('schedules', s.replace(/_/g, ''), 1))) ??
      (values.observability ? [OBSERVABILITY_RATE] : undefined),
    impls: values.observability
      ? Array.from({ length: Math.floor(num('obs-rounds', values['obs-rounds'], 1)) }).flatMap(
          () => OBSERVABILITY,
        )
      : values.impl === 'both'
        ? BOTH
        : (values.impl ?? 'bullmq').split(','),
    observability: values.observability === true,
    pods: Math.floor(num('pods', values.pods, 1)),
    seconds: opt('seconds', values.seconds, 1),
    warmup: opt('warmup', values.warmup, 0),
    grace: opt('grace', values.grace, 0),
    options,
    out: values.out ?? path.join(__dirname, 'results'),
    podExecArgv: values['pod-exec-arg'] ?? [],
    cpuProfDir: values['cpu-prof'] ? path.resolve(values['cpu-prof']) : undefined,
    herdLeadS: opt('herd-lead', values['herd-lead'], 1),
    registerBudgetS: num('register-budget', values['register-budget'], 1),
    runSkipped: values['run-skipped'] === true,
    reference: values.reference ? readReference(values.reference) : undefined,
    cluster,
    clusterMasters,
  };
}

/**
 * The no-regression reference from an earlier report of this runner (e.g. a run of the reference
 * commit on this machine): its ours steady 5k row.
 */
function readReference(file: string): CpuReference {
  const report = JSON.parse(fs.readFileSync(file, 'utf8')) as {
    rows?: Row[];
    environment?: { head?: string; cpuModel?: string };
  };
  const row = report.rows?.find(
    (r) => r.workload === 'steady' && r.schedules === 5_000 && r.impl === 'ours' && r.figures,
  );
  if (!row?.figures)
    throw new Error(`--reference ${file}: no 'steady 5k' row of ours with figures`);
  return {
    source: `${path.basename(file)}${report.environment?.head ? ` @ ${report.environment.head}` : ''}`,
    cpuModel: report.environment?.cpuModel,
    redisCpuMsPer1kRuns: row.figures.redisCpuMsPer1kRuns,
    podCpuMsPer1kRuns: row.figures.podCpuMsPer1kRuns,
  };
}

function planCases(args: Args): Case[] {
  const workloads = args.workload === 'all' ? ALL_WORKLOADS : [args.workload];
  const cases: Case[] = [];
  for (const workload of workloads) {
    const d = DEFAULTS[workload];
    for (const schedules of args.schedules ?? d.schedules) {
      const sized = workload === 'herd' ? herdWindow(schedules) : d;
      cases.push({
        workload,
        schedules,
        impls: args.impls,
        seconds: args.seconds ?? sized.seconds,
        warmup: args.warmup ?? d.warmup,
        grace: args.grace ?? sized.grace,
        topology: args.cluster
          ? ` cluster${args.clusterMasters === 3 ? '' : args.clusterMasters}`
          : '',
      });
    }
  }
  return cases;
}

const caseLabel = (workload: string, schedules: number, topology = ''): string =>
  `${workload} ${schedules >= 1_000_000 ? `${schedules / 1_000_000}M` : schedules >= 1_000 ? `${schedules / 1_000}k` : schedules}${topology}`;

const median = (xs: number[]): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const sleepUntil = (t: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, Math.max(0, t - nowMs())));

function log(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

/** Live pods, so that a crash or Ctrl-C never leaves a process behind. */
const livePods = new Set<PodProcess>();

/** What earlier cases of this invocation taught about each implementation (for the herd lead). */
const observed: Record<string, { rate?: number; startMs?: number }> = {};

function herdLeadMs(impl: string, schedules: number, args: Args): number {
  if (args.herdLeadS !== undefined) return args.herdLeadS * 1000;
  const seen = observed[impl] ?? {};
  const rate = seen.rate ?? (impl === 'ours' ? 8_000 : 3_000);
  const start = seen.startMs ?? 8_000;
  return Math.min(180_000, Math.max(10_000, (1.6 * schedules * 1000) / rate + 1.5 * start + 4_000));
}

// ---------------------------------------------------------------- one implementation, one case

function emptyRow(impl: string, c: Case): Row {
  return {
    case: caseLabel(c.workload, c.schedules, c.topology),
    workload: c.workload,
    schedules: c.schedules,
    impl,
    params: {},
    registered: 0,
    registerMs: 0,
    registerRate: NaN,
    bytesPerSchedule: NaN,
    redisUsedMemoryMb: NaN,
    pods: [],
    startMs: NaN,
    bootMs: NaN,
    podErrors: [],
    notes: [],
  };
}

class CaseRunner {
  constructor(
    private readonly args: Args,
    private readonly redis: BenchRedis,
  ) {}

  async run(name: string, c: Case): Promise<Row> {
    const impl = getImplementation(name);
    const workload = getWorkload(c.workload);
    const row: Row = { ...emptyRow(name, c), version: impl.setup.version?.() };
    const pods: PodProcess[] = [];
    try {
      await flushAll(this.redis);
      // ---- choose the run's parameters
      let herdFireMs = 0;
      if (c.workload === 'herd') {
        const lead = herdLeadMs(name, c.schedules, this.args);
        herdFireMs = Math.ceil((nowMs() + lead) / 1000) * 1000;
        row.params = { cron: cronAt(herdFireMs) };
        log(
          `[${row.case} ${name}] herd fire time ${new Date(herdFireMs).toISOString()} (lead ${(lead / 1000).toFixed(0)} s)`,
        );
      } else if (c.workload === 'registry') {
        row.params = { cron: hourlyCronAwayFrom(nowMs()) };
      }
      const schedules = workload.schedules(c.schedules, row.params);
      const ctx: SetupContext = {
        ...this.redis.endpoint,
        redis: this.redis,
        workload,
        schedules,
        options: this.args.options,
        deadlineMs:
          c.workload === 'registry' ? nowMs() + this.args.registerBudgetS * 1000 : undefined,
      };

      // ---- register
      const mem0 = (await readMemory(this.redis)).usedMemory;
      const cpuBeforeRegister = (await readCpuMs(this.redis)).total;
      const t0 = nowMs();
      const outcome = await impl.setup.register(ctx);
      row.registerMs = Math.round(nowMs() - t0);
      row.registered = outcome ? outcome.registered : schedules.length;
      const storeMs = outcome?.storeMs ?? row.registerMs;
      row.registerRate = round((row.registered * 1000) / storeMs, 0);
      const mem1 = await readMemory(this.redis);
      row.bytesPerSchedule = round((mem1.usedMemory - mem0) / Math.max(1, row.registered), 0);
      row.redisUsedMemoryMb = round(mem1.usedMemory / 2 ** 20, 1);
      if (row.registered < schedules.length) {
        row.notes.push(
          `registered only ${row.registered} of ${schedules.length} within --register-budget ${this.args.registerBudgetS} s; ` +
            'rate, memory, RSS and start time are for that many',
        );
      }
      const prev = observed[name] ?? {};
      if (!prev.rate || row.registered >= 5_000)
        observed[name] = { ...prev, rate: row.registerRate };
      log(
        `[${row.case} ${name}] registered ${row.registered} schedules in ${row.registerMs} ms ` +
          `(${row.registerRate}/s, ${row.bytesPerSchedule} B each)`,
      );

      // ---- pods
      const execArgv = [...this.args.podExecArgv];
      let profDir: string | undefined;
      if (this.args.cpuProfDir) {
        profDir = path.join(this.args.cpuProfDir, `${c.workload}-${c.schedules}-${name}`);
        fs.mkdirSync(profDir, { recursive: true });
        execArgv.push('--cpu-prof', `--cpu-prof-dir=${profDir}`);
      }
      for (let podIndex = 0; podIndex < this.args.pods; podIndex++) {
        const pod = forkPod(
          impl.podModule,
          {
            type: 'start',
            ...this.redis.endpoint,
            workload: workload.name,
            params: row.params,
            schedules: row.registered,
            podIndex,
            podCount: this.args.pods,
            handlerMs: workload.handlerMs,
            options: this.args.options,
          },
          execArgv,
        );
        pods.push(pod);
        livePods.add(pod);
        // Registry: one pod at a time, so that start times do not measure two pods compiling
        // TypeScript at once on a 2-core machine.
        if (workload.kind === 'registry') await pod.ready;
      }
      const ready: Array<ReadyMessage & { forkToReadyMs: number }> = await Promise.all(
        pods.map((p) => p.ready),
      );
      row.pods = ready.map((r) => ({
        pid: r.pid,
        forkToReadyMs: Math.round(r.forkToReadyMs),
        bootMs: Math.round(r.bootMs),
        rssReadyMb: round(r.rssBytes / 2 ** 20, 1),
      }));
      row.startMs = Math.round(median(row.pods.map((p) => p.forkToReadyMs)));
      row.bootMs = Math.round(median(row.pods.map((p) => p.bootMs)));
      observed[name] = { ...observed[name], startMs: row.startMs };

      // ---- measure
      let results: ResultMessage[];
      if (workload.kind === 'window') {
        results = await this.measureWindow(row, c, pods, schedules, cpuBeforeRegister, herdFireMs);
      } else {
        results = await this.measureIdle(row, c, pods);
      }
      row.podErrors = [...results.flatMap((r) => r.errors), ...pods.flatMap((p) => p.errors)];

      if (profDir) row.profiles = this.summariseProfiles(profDir, results);
      if (impl.setup.teardown && row.registered <= 10_000) await impl.setup.teardown(ctx);
    } catch (err) {
      row.error = err instanceof Error ? (err.stack ?? err.message) : String(err);
      log(`[${row.case} ${name}] FAILED: ${row.error}`);
    } finally {
      for (const p of pods) {
        p.kill();
        livePods.delete(p);
      }
      await flushAll(this.redis).catch(() => undefined);
    }
    return row;
  }

  private async measureWindow(
    row: Row,
    c: Case,
    pods: PodProcess[],
    schedules: ScheduleSpec[],
    cpuBeforeRegister: number,
    herdFireMs: number,
  ): Promise<ResultMessage[]> {
    // Window [startMs, endMs): starts half a second before a whole second.
    let startMs: number;
    if (c.workload === 'herd') {
      startMs = herdFireMs - 500;
      if (nowMs() > startMs - 100) {
        throw new Error(
          `herd: pods were ready ${((nowMs() - startMs) / 1000).toFixed(1)} s after the window ` +
            'start (registration + pod start took longer than the lead): raise --herd-lead',
        );
      }
    } else {
      const firstFire = Math.ceil((nowMs() + c.warmup * 1000 + 500) / 1000) * 1000;
      startMs = firstFire - 500;
    }
    const endMs = startMs + c.seconds * 1000;
    log(
      `[${row.case} ${row.impl}] ${pods.length} pods ready (start ${row.startMs} ms); measuring ${c.seconds} s from ${new Date(startMs).toISOString()}`,
    );
    await sleepUntil(startMs);
    await resetStats(this.redis);
    const [cpu0] = await Promise.all([
      readCpuMs(this.redis),
      ...pods.map((p) => p.mark('start', startMs)),
    ]);
    await sleepUntil(endMs);
    const [commands, cpu1, memory] = await Promise.all([
      readCommandStats(this.redis),
      readCpuMs(this.redis),
      readMemory(this.redis),
      ...pods.map((p) => p.mark('end', endMs)),
    ]);
    if (c.workload === 'herd') {
      // A herd: every registered schedule fires once in the window.
      await this.herdGrace(row, pods, herdFireMs, startMs, endMs, endMs + c.grace * 1000);
    } else {
      await sleepUntil(endMs + c.grace * 1000);
    }
    row.graceUsedS = round((nowMs() - endMs) / 1000, 1);
    const results = await Promise.all(pods.map((p) => p.stop()));
    row.window = { startMs, endMs, seconds: c.seconds };
    row.redisNodes = this.perNode(commands, cpu0, cpu1, memory);
    row.figures = computeFigures({
      schedules: schedules.slice(0, row.registered),
      startMs,
      endMs,
      results,
      commands,
      redisCpuMs: cpu1.total - cpu0.total,
      redisCpuMsSinceRegister: cpu1.total - cpuBeforeRegister,
      memory,
      drainFromMs: c.workload === 'herd' ? herdFireMs : undefined,
    });
    return results;
  }

  /**
   * Waits until `deadlineMs`, or less: until the pods have started as many runs of the window's
   * fire times as there are schedules (duplicates count too, so also until no new start came for
   * HERD_SETTLE_MS: a duplicate or a run still pending keeps the count moving).
   */
  private async herdGrace(
    row: Row,
    pods: PodProcess[],
    fireMs: number,
    startMs: number,
    endMs: number,
    deadlineMs: number,
  ): Promise<void> {
    let last = -1;
    let lastChangeMs = nowMs();
    while (nowMs() < deadlineMs) {
      const progress = await Promise.all(pods.map((p) => p.progress(startMs, endMs)));
      const starts = progress.reduce((a, p) => a + p.starts, 0);
      if (starts !== last) {
        last = starts;
        lastChangeMs = nowMs();
      } else if (starts >= row.registered && nowMs() - lastChangeMs >= HERD_SETTLE_MS) {
        const lastStartMs = Math.max(...progress.map((p) => p.lastStartMs));
        log(
          `[${row.case} ${row.impl}] all ${starts} runs started, the last ` +
            `${((lastStartMs - fireMs) / 1000).toFixed(2)} s after the fire time: grace ended early`,
        );
        return;
      }
      await sleepUntil(Math.min(deadlineMs, nowMs() + 500));
    }
  }

  private async measureIdle(row: Row, c: Case, pods: PodProcess[]): Promise<ResultMessage[]> {
    const startMs = nowMs() + c.warmup * 1000;
    const endMs = startMs + c.seconds * 1000;
    log(
      `[${row.case} ${row.impl}] ${pods.length} pods ready (start ${row.startMs} ms, boot ${row.bootMs} ms); idle window ${c.seconds} s`,
    );
    await sleepUntil(startMs);
    await resetStats(this.redis);
    const [cpu0] = await Promise.all([
      readCpuMs(this.redis),
      ...pods.map((p) => p.mark('start', startMs)),
    ]);
    await sleepUntil(endMs);
    const [commands, cpu1, memory] = await Promise.all([
      readCommandStats(this.redis),
      readCpuMs(this.redis),
      readMemory(this.redis),
      ...pods.map((p) => p.mark('end', endMs)),
    ]);
    const results = await Promise.all(pods.map((p) => p.stop()));
    row.redisNodes = this.perNode(commands, cpu0, cpu1, memory);
    const podCpuMs = results.reduce((a, r) => a + (r.cpuUserUs + r.cpuSystemUs) / 1000, 0);
    row.window = { startMs, endMs, seconds: c.seconds };
    row.idle = {
      seconds: c.seconds,
      podRssMb: results.map((r) => round(r.rssPeakBytes / 2 ** 20, 1)),
      podCpuMsPerSec: round(podCpuMs / c.seconds, 1),
      redisCpuMsPerSec: round((cpu1.total - cpu0.total) / c.seconds, 1),
      redisCommandsPerSec: round(commands.totalCalls / c.seconds, 1),
      starts: results.reduce((a, r) => a + r.scheduleIndex.length, 0),
    };
    return results;
  }

  private perNode(
    commands: CommandStats,
    cpu0: NodeSum,
    cpu1: NodeSum,
    memory: MemoryInfo,
  ): Row['redisNodes'] {
    return this.redis.nodes().map((n, i) => ({
      node: `${n.host}:${n.port}`,
      commands: commands.perNodeCalls[i],
      cpuMs: round(cpu1.perNode[i] - cpu0.perNode[i], 1),
      usedMemoryMb: round(memory.perNodeUsedMemory[i] / 2 ** 20, 1),
    }));
  }

  /** Each pod wrote CPU.<date>.<time>.<pid>.*.cpuprofile on exit: summarise its window. */
  private summariseProfiles(dir: string, results: ResultMessage[]): ProfileSummary[] {
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
    const out: ProfileSummary[] = [];
    for (const r of results) {
      const file = files.find((f) => f.split('.')[3] === String(r.pid));
      if (!file) {
        log(`no .cpuprofile for pod pid ${r.pid} in ${dir}`);
        continue;
      }
      out.push(summariseProfile(path.join(dir, file), r.windowHrUs[0], r.windowHrUs[1], 30));
    }
    return out;
  }
}

// ---------------------------------------------------------------- table

type Cell = string | number;
const dash = '-';
const fig = (r: Row, get: (f: Figures) => Cell): Cell => (r.figures ? get(r.figures) : dash);
const rssMb = (r: Row): number[] => r.figures?.podRssMb ?? r.idle?.podRssMb ?? [];

const COLUMNS: Array<[string, (r: Row) => Cell]> = [
  ['expected', (r) => fig(r, (f) => f.expected)],
  ['done', (r) => fig(r, (f) => f.completed)],
  ['dups', (r) => fig(r, (f) => f.duplicates)],
  ['misses', (r) => fig(r, (f) => f.misses)],
  ['runs/s', (r) => fig(r, (f) => f.runsPerSec)],
  ['drain/s', (r) => fig(r, (f) => f.drain?.runsPerSec ?? dash)],
  ['late p50', (r) => fig(r, (f) => f.latenessMs.p50)],
  ['p99', (r) => fig(r, (f) => f.latenessMs.p99)],
  ['max ms', (r) => fig(r, (f) => f.latenessMs.max)],
  ['cmds/run', (r) => fig(r, (f) => f.redisCommandsPerRun)],
  ['redisCPU ms/1k', (r) => fig(r, (f) => f.redisCpuMsPer1kRuns)],
  ['podCPU ms/1k', (r) => fig(r, (f) => f.podCpuMsPer1kRuns)],
  ['pod RSS MB', (r) => rssMb(r).join('/') || dash],
  ['reg/s', (r) => r.registerRate],
  ['B/sched', (r) => r.bytesPerSchedule],
  ['start ms', (r) => r.startMs],
];

function ratio(a: number, b: number): string {
  if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) return dash;
  return `${(a / b).toFixed(2)}x`;
}

function ratioCells(ours: Row, bull: Row): Cell[] {
  return COLUMNS.map(([h, get]) => {
    if (h === 'pod RSS MB') {
      const sum = (r: Row): number => rssMb(r).reduce((x, y) => x + y, 0);
      return ratio(sum(ours), sum(bull));
    }
    if (h === 'expected' || h === 'done') return dash;
    return ratio(Number(get(ours)), Number(get(bull)));
  });
}

function table(rows: Row[]): string {
  const lines: Cell[][] = [['case', 'impl', ...COLUMNS.map(([h]) => h)]];
  const byCase = new Map<string, Row[]>();
  for (const r of rows) byCase.set(r.case, [...(byCase.get(r.case) ?? []), r]);
  for (const [label, group] of byCase) {
    for (const r of group) {
      if (r.error) lines.push([label, r.impl, `ERROR: ${r.error.split('\n')[0].slice(0, 100)}`]);
      else if (r.skipped) lines.push([label, r.impl, r.skipped]);
      else lines.push([label, r.impl, ...COLUMNS.map(([, get]) => get(r))]);
    }
    const ours = group.find((r) => r.impl === 'ours' && measured(r));
    const bull = group.find((r) => r.impl === 'bullmq' && measured(r));
    if (ours && bull) lines.push([label, 'ours/bullmq', ...ratioCells(ours, bull)]);
  }
  const text = lines.map((l) => l.map(String));
  const widths = text[0].map((_, i) =>
    Math.max(...text.filter((l) => l.length > 3).map((l) => (l[i] ?? '').length)),
  );
  return text
    .map((l) =>
      l.length <= 3
        ? `${l[0].padEnd(widths[0])}  ${l[1].padEnd(widths[1])}  ${l[2]}`
        : l.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '),
    )
    .join('\n');
}

// ---------------------------------------------------------------- environment

/** Linux PSI (`some avg10=…`), to tell a run on a busy shared machine from a quiet one. */
function cpuPressure(): string | undefined {
  try {
    return fs.readFileSync('/proc/pressure/cpu', 'utf8').split('\n')[0];
  } catch {
    return undefined;
  }
}

function cpuModel(): string | undefined {
  try {
    const m = /^model name\s*:\s*(.*)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'));
    return m?.[1] ?? os.cpus()[0]?.model;
  } catch {
    return os.cpus()[0]?.model;
  }
}

/** The library is edited while benchmarks run: record which lib/ the pods loaded. */
function libState(): { head?: string; libDirty?: boolean } {
  try {
    const cwd = path.resolve(__dirname, '..', '..');
    const head = execSync('git rev-parse --short HEAD', {
      cwd,
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .toString()
      .trim();
    const dirty = execSync('git status --porcelain -- lib', {
      cwd,
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .toString()
      .trim();
    return { head, libDirty: dirty.length > 0 };
  } catch {
    // A snapshot without .git (e.g. `git archive HEAD`): say which commit it was.
    return process.env.BENCH_LIB_REF ? { head: process.env.BENCH_LIB_REF, libDirty: false } : {};
  }
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const args = parseCli(process.argv.slice(2));
  const cases = planCases(args);
  const pressureBefore = cpuPressure();
  for (const name of args.impls) getImplementation(name); // fail fast on an unknown impl
  const redis = await startBenchRedis({ cluster: args.cluster, masters: args.clusterMasters });
  // --opt store=postgres: ours with the PostgreSQL store (issue 12), on a private PostgreSQL.
  // --impl ...,ours-store: the same store for that implementation only.
  const wantsStore = (args.options['ours.store'] ?? args.options['store']) === 'postgres';
  const storeImpl = args.impls.includes('ours-store');
  const pg = wantsStore || storeImpl ? await startPostgresServer() : undefined;
  if (pg && wantsStore) args.options['ours.storeUrl'] = pg.url;
  if (pg && storeImpl) args.options['ours-store.storeUrl'] = pg.url;
  const stopAll = async (): Promise<void> => {
    for (const p of livePods) p.kill();
    await redis.stop();
    await pg?.stop();
  };
  process.once('SIGINT', () => void stopAll().then(() => process.exit(130)));
  process.once('SIGTERM', () => void stopAll().then(() => process.exit(143)));

  const startedAt = nowMs();
  try {
    const luaCounted = await luaCallsAreCounted(redis);
    log(`${redis.describe()}; Lua-internal calls in commandstats: ${luaCounted}`);
    log(
      `cases: ${cases.map((c) => `${caseLabel(c.workload, c.schedules, c.topology)} [${c.impls.join(',')}]`).join('; ')}`,
    );
    const runner = new CaseRunner(args, redis);
    const rows: Row[] = [];
    // The sweep of an implementation ends after its first step with misses (or an error).
    const sweepEnded = new Set<string>();
    for (const c of cases) {
      for (const name of c.impls) {
        const skip = skipReason(name, c, args);
        if (skip) {
          // One row per skipped case; a skipped sweep gets one row, under its first step.
          if (c.workload !== 'sweep' || !sweepEnded.has(name)) {
            rows.push({ ...emptyRow(name, c), skipped: skip });
            log(`[${caseLabel(c.workload, c.schedules, c.topology)} ${name}] ${skip}`);
          }
          if (c.workload === 'sweep') sweepEnded.add(name);
          continue;
        }
        if (c.workload === 'sweep' && sweepEnded.has(name)) continue;
        const row = await runner.run(name, c);
        rows.push(row);
        if (c.workload === 'sweep' && !sweepStepHeld(row)) {
          sweepEnded.add(name);
          log(`[${row.case} ${name}] sweep ends here (misses or an error)`);
        }
      }
    }

    const env = {
      node: process.version,
      redis: redis.version,
      redisTopology: redis.topology,
      luaCallsCountedInCommandstats: luaCounted,
      nproc: os.availableParallelism?.() ?? os.cpus().length,
      cpuModel: cpuModel(),
      loadavg: os.loadavg().map((x) => round(x, 2)),
      cpuPressureBefore: pressureBefore,
      cpuPressureAfter: cpuPressure(),
      ...libState(),
    };
    const targets = args.impls.includes('ours')
      ? evaluateTargets(rows, args.reference ?? REFERENCE_STEADY_5K, env.cpuModel)
      : [];
    const title =
      `workload=${args.workload} impl=${args.impls.join(',')} pods=${args.pods}` +
      (Object.keys(args.options).length ? ` opts=${JSON.stringify(args.options)}` : '') +
      ` | node ${env.node}, redis ${env.redis}` +
      (redis.topology.mode === 'cluster' ? ` (cluster of ${redis.topology.masters} masters)` : '') +
      `, ${env.nproc} × ${env.cpuModel}, load ${env.loadavg.join(' ')}`;
    process.stdout.write(`\n${title}\n${table(rows)}\n`);
    const observability = args.observability ? observabilityCost(rows) : undefined;
    if (args.observability) {
      process.stdout.write(`\n${observability?.line ?? 'observability cost: no measured rows'}\n`);
    }
    for (const r of rows) {
      for (const n of r.notes) process.stdout.write(`\nnote: ${r.case} ${r.impl}: ${n}`);
      if (r.podErrors.length)
        process.stdout.write(
          `\n${r.case} ${r.impl}: ${r.podErrors.length} pod error(s), first: ${r.podErrors[0].split('\n')[0]}`,
        );
      if (r.idle?.starts)
        process.stdout.write(
          `\n${r.case} ${r.impl}: ${r.idle.starts} handler start(s) in the idle window`,
        );
      if (redis.topology.mode === 'cluster' && r.redisNodes)
        process.stdout.write(
          `\n${r.case} ${r.impl}: per node, commands ${r.redisNodes.map((n) => n.commands).join('/')}, ` +
            `Redis CPU ms ${r.redisNodes.map((n) => Math.round(n.cpuMs)).join('/')}, ` +
            `used_memory MB ${r.redisNodes.map((n) => n.usedMemoryMb).join('/')}`,
        );
      if (r.figures?.unexpected)
        process.stdout.write(
          `\n${r.case} ${r.impl}: ${r.figures.unexpected} start(s) of fire times off the cron grid`,
        );
    }
    const sweeps = args.impls.flatMap((name) => summariseSweep(rows, name) ?? []);
    if (targets.length) {
      const on =
        redis.topology.mode === 'cluster'
          ? `; ${redis.topology.masters}-master cluster, BullMQ's queue on one shard`
          : '';
      process.stdout.write(`\n\n${formatTargets(targets, on)}\n`);
    }
    for (const r of rows) {
      for (const [i, p] of (r.profiles ?? []).entries())
        process.stdout.write(
          `\n${formatSummary(p, `profile ${r.case} ${r.impl} pod ${i} (window)`)}\n`,
        );
    }

    const report = {
      createdAt: new Date().toISOString(),
      totalSeconds: round((nowMs() - startedAt) / 1000, 1),
      args,
      cases,
      environment: env,
      notes: [
        'window = [startMs, endMs), startMs half a second before a whole second; expected = nominal fire times inside it',
        'per-run costs = spend inside the window / runs started inside the window',
        'redis commands include commands called inside Lua scripts (verified: luaCallsCountedInCommandstats)',
        'lateness = handler start - fire time - jitter offset, over every start of an in-window fire time',
        'registry: bytesPerSchedule = (used_memory after registration - before) / registered; startMs = median fork->ready of the pods; idle = window with nothing due',
        'commands, Redis CPU and used_memory are sums over every node of environment.redisTopology (rows[].redisNodes: per node); CONFIG RESETSTAT and FLUSHALL go to every node',
      ],
      rows,
      ratiosOursOverBullmq: Object.fromEntries(
        [...new Set(rows.map((r) => r.case))].flatMap((label) => {
          const ours = rows.find((r) => r.case === label && r.impl === 'ours' && measured(r));
          const bull = rows.find((r) => r.case === label && r.impl === 'bullmq' && measured(r));
          if (!ours || !bull) return [];
          const cells = ratioCells(ours, bull);
          return [[label, Object.fromEntries(COLUMNS.map(([h], i) => [h, cells[i]]))]];
        }),
      ),
      targets,
      sweeps,
      ...(observability ? { observability } : {}),
    };
    fs.mkdirSync(args.out, { recursive: true });
    const file = path.join(args.out, `${report.createdAt.replace(/[:.]/g, '-')}.json`);
    fs.writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
    process.stdout.write(`\nreport: ${file} (${report.totalSeconds} s)\n`);
  } finally {
    await stopAll();
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  for (const p of livePods) p.kill();
  process.exit(1);
});
