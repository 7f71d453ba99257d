/**
 * The contract between the bench runner and a pod child process.
 *
 * A pod is a separate Node process (`child_process.fork`, ts-node register in execArgv,
 * `serialization: 'advanced'` so typed arrays cross IPC as binary). One implementation = one pod
 * module: a file that calls `runPod(factory)` at load. The conversation:
 *
 *   runner → pod   {type:'start', redisUrl, clusterNodes?, workload, params, schedules: S, podIndex, podCount, handlerMs, options}
 *   pod → runner   {type:'ready', pid, bootMs, rssBytes}    once the factory resolved (worker running)
 *   runner → pod   {type:'mark', phase:'start', atMs}       measured window opens: pod takes its
 *                                                            process.cpuUsage() baseline
 *   pod → runner   {type:'marked', phase:'start'}
 *   runner → pod   {type:'mark', phase:'end', atMs}         window closes: cpuUsage delta, rss
 *   pod → runner   {type:'marked', phase:'end'}
 *   runner → pod   {type:'progress', fromMs, toMs}          (any time, e.g. polled during the herd's grace)
 *   pod → runner   {type:'progress', starts, lastStartMs}   starts so far of fire times in [fromMs, toMs)
 *   runner → pod   {type:'stop'}                            (after a grace period for late starts)
 *   pod → runner   {type:'result', ...compact arrays...}    then the pod closes its worker and exits
 *   pod → runner   {type:'error', message}                  at any time, for anything unexpected
 *
 * During the run the pod's handler calls `ctx.recordStart(scheduleId, fireTimeMs, jitterOffsetMs)`
 * as its first statement. Ids are `bench-<index>`: the recorder parses the index from the id, so a
 * pod never builds the schedule list unless its implementation reads `ctx.schedules` (lazy) — a
 * pod's memory and start time at 1M schedules are the implementation's, not the harness's. The pod keeps every start in memory and sends back, on stop, only the
 * starts that matter to the window (fire time ≥ window start, or started ≥ window start).
 * Wall clock everywhere: `performance.timeOrigin + performance.now()`.
 * `clusterNodes` is set only in cluster mode (`--cluster`): the masters of the private Redis
 * Cluster, for an ioredis Cluster client (see ./endpoint.ts); `redisUrl` is then the first master.
 * Lateness = startedAt − fireTime − jitterOffset.
 */
import { ChildProcess, fork } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import type { RedisEndpoint } from './endpoint';
import { ScheduleSpec, WorkloadParams, getWorkload, scheduleIndexOf } from './workloads';

export const nowMs = (): number => performance.timeOrigin + performance.now();

// ---------------------------------------------------------------- messages

/** redisUrl, and clusterNodes in cluster mode (RedisEndpoint). */
export interface StartMessage extends RedisEndpoint {
  type: 'start';
  workload: string;
  /** What the runner picked for this run (e.g. the herd's cron); given to Workload.schedules. */
  params: WorkloadParams;
  /** S: number of schedules; the pod rebuilds the list with getWorkload(workload).schedules(S). */
  schedules: number;
  podIndex: number;
  podCount: number;
  handlerMs: number;
  /** Implementation-specific knobs from the runner's command line (`--opt key=value`). */
  options: Record<string, string>;
}
export interface MarkMessage {
  type: 'mark';
  phase: 'start' | 'end';
  /** The runner's wall clock when it sent the mark. */
  atMs: number;
}
export interface StopMessage {
  type: 'stop';
}
/** How many starts of fire times in [fromMs, toMs) the pod has recorded so far. */
export interface ProgressRequest {
  type: 'progress';
  fromMs: number;
  toMs: number;
}
export type RunnerToPod = StartMessage | MarkMessage | ProgressRequest | StopMessage;

export interface ReadyMessage {
  type: 'ready';
  pid: number;
  /** How long the implementation's factory took (worker boot, module loading excluded), ms. */
  bootMs: number;
  /** process.memoryUsage().rss when ready. */
  rssBytes: number;
}
export interface MarkedMessage {
  type: 'marked';
  phase: 'start' | 'end';
}
export interface ResultMessage {
  type: 'result';
  podIndex: number;
  pid: number;
  /** One entry per handler start (same length arrays). */
  scheduleIndex: Int32Array;
  fireTimeMs: Float64Array;
  startedAtMs: Float64Array;
  /** startedAt − fireTime − jitterOffset. */
  latenessMs: Float64Array;
  /** process.cpuUsage() delta between mark start and mark end, µs. */
  cpuUserUs: number;
  cpuSystemUs: number;
  /** process.cpuUsage() user+system since the pod process started (startup included), µs. */
  cpuLifetimeUs: number;
  /** process.memoryUsage().rss at mark end, and the peak sampled every 250 ms in the window. */
  rssBytes: number;
  rssPeakBytes: number;
  /**
   * Peak RSS from the window start until stop (grace included), sampled the same way: a herd
   * that drains past the window end peaks there.
   */
  rssPeakUntilStopBytes: number;
  /** Starts whose scheduleId was not in the workload (should be 0). */
  unknownIds: number;
  /**
   * Window bounds on the pod's monotonic clock, µs (process.hrtime), the clock V8's CPU profiler
   * stamps samples with: lets a --cpu-prof profile be cut to the measured window.
   */
  windowHrUs: [number, number];
  /** Errors the implementation reported (first 20). */
  errors: string[];
}
export interface ProgressMessage {
  type: 'progress';
  /** Starts (duplicates included) of fire times in the requested range. */
  starts: number;
  /** Latest start among them (NaN if none). */
  lastStartMs: number;
}
export interface ErrorMessage {
  type: 'error';
  message: string;
}
export type PodToRunner =
  ReadyMessage | MarkedMessage | ProgressMessage | ResultMessage | ErrorMessage;

// ---------------------------------------------------------------- pod side

/**
 * What a pod module's factory gets. Connect to `clusterNodes` with a Cluster client when it is
 * set (cluster mode; ./endpoint.ts openCluster), else to `redisUrl`.
 */
export interface PodContext extends RedisEndpoint {
  workload: string;
  params: WorkloadParams;
  /** Number of schedules S. */
  scheduleCount: number;
  /** The workload's schedules, built on first access (costly at 1M: read only if needed). */
  readonly schedules: ScheduleSpec[];
  podIndex: number;
  podCount: number;
  /** Each handler run should take this long (await a timer); 0 = return at once. */
  handlerMs: number;
  options: Record<string, string>;
  /** Call first thing in every handler run. */
  recordStart(scheduleId: string, fireTimeMs: number, jitterOffsetMs?: number): void;
  /** Report an unexpected error (kept, first 20, in the result). */
  reportError(err: unknown): void;
}

/** What a pod module's factory returns once its worker is running. */
export interface PodHandle {
  /** Stop taking work and release connections; awaited (bounded to 10 s) before the pod exits. */
  close(): Promise<void>;
}

export type PodFactory = (ctx: PodContext) => Promise<PodHandle>;

class StartRecorder {
  private idx: number[] = [];
  private fire: number[] = [];
  private started: number[] = [];
  private late: number[] = [];
  unknownIds = 0;
  recording = true;

  constructor(private readonly count: number) {}

  record(scheduleId: string, fireTimeMs: number, jitterOffsetMs = 0): void {
    const startedAt = nowMs();
    if (!this.recording) return;
    const index = scheduleIndexOf(scheduleId, this.count);
    if (index < 0) {
      this.unknownIds++;
      return;
    }
    this.idx.push(index);
    this.fire.push(fireTimeMs);
    this.started.push(startedAt);
    this.late.push(startedAt - fireTimeMs - jitterOffsetMs);
  }

  /** Starts so far of fire times in [fromMs, toMs), and the latest of them. */
  progress(fromMs: number, toMs: number): Omit<ProgressMessage, 'type'> {
    let starts = 0;
    let lastStartMs = NaN;
    for (let i = 0; i < this.fire.length; i++) {
      if (this.fire[i] < fromMs || this.fire[i] >= toMs) continue;
      starts++;
      if (starts === 1 || this.started[i] > lastStartMs) lastStartMs = this.started[i];
    }
    return { starts, lastStartMs };
  }

  /** Starts with fireTime ≥ fromMs or startedAt ≥ fromMs, as typed arrays. */
  collect(
    fromMs: number,
  ): Pick<ResultMessage, 'scheduleIndex' | 'fireTimeMs' | 'startedAtMs' | 'latenessMs'> {
    const keep: number[] = [];
    for (let i = 0; i < this.idx.length; i++) {
      if (this.fire[i] >= fromMs || this.started[i] >= fromMs) keep.push(i);
    }
    const scheduleIndex = new Int32Array(keep.length);
    const fireTimeMs = new Float64Array(keep.length);
    const startedAtMs = new Float64Array(keep.length);
    const latenessMs = new Float64Array(keep.length);
    keep.forEach((i, j) => {
      scheduleIndex[j] = this.idx[i];
      fireTimeMs[j] = this.fire[i];
      startedAtMs[j] = this.started[i];
      latenessMs[j] = this.late[i];
    });
    return { scheduleIndex, fireTimeMs, startedAtMs, latenessMs };
  }
}

function send(msg: PodToRunner): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send || !process.connected) return resolve();
    process.send(msg, undefined, {}, () => resolve());
  });
}

/**
 * Wires a pod module to the runner over IPC. Call it at the bottom of the pod module:
 * `if (require.main === module) runPod(createPod);`
 */
export function runPod(factory: PodFactory): void {
  if (!process.send) throw new Error('a pod must be started with child_process.fork');
  // If the runner goes away, never linger.
  process.on('disconnect', () => process.exit(1));

  let ctx: PodContext | undefined;
  let recorder: StartRecorder | undefined;
  let handle: PodHandle | undefined;
  let windowStartMs = 0;
  let cpuBase: NodeJS.CpuUsage | undefined;
  let cpuDelta: NodeJS.CpuUsage = { user: 0, system: 0 };
  let rssAtEnd = 0;
  let rssPeak = 0;
  let rssPeakUntilStop = 0;
  let inWindow = false;
  let rssTimer: NodeJS.Timeout | undefined;
  const hrUs = (): number => Number(process.hrtime.bigint() / 1000n);
  const windowHrUs: [number, number] = [0, 0];
  const errors: string[] = [];
  const reportError = (err: unknown): void => {
    if (errors.length < 20)
      errors.push(err instanceof Error ? (err.stack ?? err.message) : String(err));
  };

  process.on('message', (raw: RunnerToPod) => {
    void (async () => {
      switch (raw.type) {
        case 'start': {
          const rec = new StartRecorder(raw.schedules);
          recorder = rec;
          let schedules: ScheduleSpec[] | undefined;
          ctx = {
            redisUrl: raw.redisUrl,
            clusterNodes: raw.clusterNodes,
            workload: raw.workload,
            params: raw.params,
            scheduleCount: raw.schedules,
            get schedules() {
              schedules ??= getWorkload(raw.workload).schedules(raw.schedules, raw.params);
              return schedules;
            },
            podIndex: raw.podIndex,
            podCount: raw.podCount,
            handlerMs: raw.handlerMs,
            options: raw.options,
            recordStart: (id, fire, jitter) => rec.record(id, fire, jitter),
            reportError,
          };
          const t0 = nowMs();
          handle = await factory(ctx);
          const bootMs = nowMs() - t0;
          await send({
            type: 'ready',
            pid: process.pid,
            bootMs,
            rssBytes: process.memoryUsage().rss,
          });
          break;
        }
        case 'mark': {
          if (raw.phase === 'start') {
            windowHrUs[0] = hrUs();
            windowStartMs = raw.atMs;
            cpuBase = process.cpuUsage();
            rssPeak = process.memoryUsage().rss;
            rssPeakUntilStop = rssPeak;
            inWindow = true;
            rssTimer = setInterval(() => {
              const rss = process.memoryUsage().rss;
              if (inWindow) rssPeak = Math.max(rssPeak, rss);
              rssPeakUntilStop = Math.max(rssPeakUntilStop, rss);
            }, 250);
            rssTimer.unref();
          } else {
            windowHrUs[1] = hrUs();
            cpuDelta = process.cpuUsage(cpuBase);
            rssAtEnd = process.memoryUsage().rss;
            rssPeak = Math.max(rssPeak, rssAtEnd);
            rssPeakUntilStop = Math.max(rssPeakUntilStop, rssAtEnd);
            inWindow = false;
          }
          await send({ type: 'marked', phase: raw.phase });
          break;
        }
        case 'progress': {
          if (!recorder) throw new Error('progress before start');
          await send({ type: 'progress', ...recorder.progress(raw.fromMs, raw.toMs) });
          break;
        }
        case 'stop': {
          if (!recorder) throw new Error('stop before start');
          recorder.recording = false;
          if (rssTimer) clearInterval(rssTimer);
          rssPeakUntilStop = Math.max(rssPeakUntilStop, process.memoryUsage().rss);
          const lifetime = process.cpuUsage();
          const arrays = recorder.collect(windowStartMs);
          await send({
            type: 'result',
            podIndex: ctx?.podIndex ?? -1,
            pid: process.pid,
            ...arrays,
            cpuUserUs: cpuDelta.user,
            cpuSystemUs: cpuDelta.system,
            cpuLifetimeUs: lifetime.user + lifetime.system,
            rssBytes: rssAtEnd,
            rssPeakBytes: rssPeak,
            rssPeakUntilStopBytes: rssPeakUntilStop,
            unknownIds: recorder.unknownIds,
            windowHrUs,
            errors,
          });
          const bound = new Promise<void>((resolve) => setTimeout(resolve, 10_000).unref());
          await Promise.race([handle?.close().catch(reportError), bound]);
          process.exit(0);
        }
      }
    })().catch(async (err) => {
      await send({
        type: 'error',
        message: err instanceof Error ? (err.stack ?? err.message) : String(err),
      });
      process.exit(1);
    });
  });
}

// ---------------------------------------------------------------- runner side

export interface PodProcess {
  pid: number;
  /** Resolves when the pod reported ready. */
  ready: Promise<ReadyMessage & { forkToReadyMs: number }>;
  mark(phase: 'start' | 'end', atMs: number): Promise<void>;
  /** Starts so far of fire times in [fromMs, toMs) (one request at a time). */
  progress(fromMs: number, toMs: number): Promise<ProgressMessage>;
  /** Sends stop, resolves with the result; kills the pod if it does not exit within 15 s. */
  stop(): Promise<ResultMessage>;
  /** SIGKILL if still alive (cleanup path). */
  kill(): void;
  errors: string[];
}

export const TS_NODE_EXEC_ARGV = ['-r', 'ts-node/register/transpile-only'];

/** `extraExecArgv`: e.g. ['--cpu-prof', '--cpu-prof-dir=/tmp/prof'] (runner's --pod-exec-arg). */
export function forkPod(
  modulePath: string,
  start: StartMessage,
  extraExecArgv: readonly string[] = [],
): PodProcess {
  const forkedAt = nowMs();
  const child: ChildProcess = fork(modulePath, [], {
    execArgv: [...TS_NODE_EXEC_ARGV, ...extraExecArgv],
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const errors: string[] = [];
  const waiters = new Map<string, (msg: PodToRunner) => void>();
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  const waitFor = <T extends PodToRunner>(key: string, timeoutMs: number): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`pod ${start.podIndex}: no '${key}' in ${timeoutMs} ms`)),
        timeoutMs,
      );
      waiters.set(key, (m) => {
        clearTimeout(timer);
        resolve(m as T);
      });
      void exited.then((code) => {
        clearTimeout(timer);
        reject(
          new Error(
            `pod ${start.podIndex} exited (${code}) while waiting for '${key}': ${errors.join('\n')}`,
          ),
        );
      });
    });
  child.on('message', (msg: PodToRunner) => {
    if (msg.type === 'error') {
      errors.push(msg.message);
      return;
    }
    const key = msg.type === 'marked' ? `marked:${msg.phase}` : msg.type;
    const w = waiters.get(key);
    if (w) {
      waiters.delete(key);
      w(msg);
    }
  });
  const ready = waitFor<ReadyMessage>('ready', 120_000).then((m) => ({
    ...m,
    forkToReadyMs: nowMs() - forkedAt,
  }));
  child.send(start);
  const kill = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  return {
    pid: child.pid ?? -1,
    ready,
    errors,
    kill,
    mark: async (phase, atMs) => {
      const p = waitFor<MarkedMessage>(`marked:${phase}`, 10_000);
      child.send({ type: 'mark', phase, atMs } satisfies MarkMessage);
      await p;
    },
    progress: async (fromMs, toMs) => {
      const p = waitFor<ProgressMessage>('progress', 10_000);
      child.send({ type: 'progress', fromMs, toMs } satisfies ProgressRequest);
      return p;
    },
    stop: async () => {
      const p = waitFor<ResultMessage>('result', 30_000);
      child.send({ type: 'stop' } satisfies StopMessage);
      try {
        return await p;
      } finally {
        const timer = setTimeout(kill, 15_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}
