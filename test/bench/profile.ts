/**
 * Summarises V8 .cpuprofile files (node --cpu-prof): top self-time functions, and self time per
 * package, optionally only over a time range (the measured window: pods report the window's
 * bounds on their monotonic clock, the one the profiler stamps samples with).
 *
 *   node -r ts-node/register/transpile-only test/bench/profile.ts <file.cpuprofile> [--top 25]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileEntry {
  function: string;
  where: string;
  selfMs: number;
  /** Share of the non-idle time in the range. */
  pct: number;
}

export interface ProfileSummary {
  file: string;
  /** Sampled time in the range, ms, and how much of it was idle. */
  rangeMs: number;
  idleMs: number;
  busyMs: number;
  top: ProfileEntry[];
  /** Non-idle self time per package / area, ms and share. */
  byArea: Array<{ area: string; selfMs: number; pct: number }>;
}

const ROOT = path.resolve(__dirname, '..', '..');

function where(url: string, line: number): string {
  if (!url) return '';
  let file = url.startsWith('file://') ? url.slice('file://'.length) : url;
  if (file.startsWith(ROOT)) file = path.relative(ROOT, file);
  return `${file}:${line + 1}`;
}

export function areaOf(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native)';
  if (url.startsWith('node:')) return 'node internals';
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1];
  const file = url.startsWith('file://') ? url.slice(7) : url;
  const rel = path.relative(ROOT, file);
  if (!rel.startsWith('..')) return rel.split(path.sep)[0] + '/';
  return 'other';
}

/** fromUs/toUs: profiler clock (µs, monotonic), e.g. process.hrtime.bigint() / 1000n. */
export function summariseProfile(
  file: string,
  fromUs = -Infinity,
  toUs = Infinity,
  topN = 25,
): ProfileSummary {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  for (const n of profile.nodes) byId.set(n.id, n);
  const selfUs = new Map<number, number>();
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i];
    // The sample at t stands for the interval until the next one.
    const dt = i + 1 < profile.timeDeltas.length ? profile.timeDeltas[i + 1] : 0;
    if (t < fromUs || t >= toUs) continue;
    selfUs.set(profile.samples[i], (selfUs.get(profile.samples[i]) ?? 0) + dt);
  }
  const perFunction = new Map<string, { fn: string; where: string; us: number }>();
  const perArea = new Map<string, number>();
  let idleUs = 0;
  let totalUs = 0;
  for (const [id, us] of selfUs) {
    const { callFrame } = byId.get(id)!;
    totalUs += us;
    if (callFrame.functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    const fn = callFrame.functionName || '(anonymous)';
    const loc = where(callFrame.url, callFrame.lineNumber);
    const key = `${fn}\u0000${loc}`;
    const entry = perFunction.get(key) ?? { fn, where: loc, us: 0 };
    entry.us += us;
    perFunction.set(key, entry);
    const area = areaOf(callFrame.url, fn);
    perArea.set(area, (perArea.get(area) ?? 0) + us);
  }
  const busyUs = totalUs - idleUs;
  const pct = (us: number): number => (busyUs > 0 ? Math.round((1000 * us) / busyUs) / 10 : 0);
  const ms = (us: number): number => Math.round(us / 100) / 10;
  return {
    file,
    rangeMs: ms(totalUs),
    idleMs: ms(idleUs),
    busyMs: ms(busyUs),
    top: [...perFunction.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, topN)
      .map((e) => ({ function: e.fn, where: e.where, selfMs: ms(e.us), pct: pct(e.us) })),
    byArea: [...perArea]
      .sort((a, b) => b[1] - a[1])
      .map(([area, us]) => ({ area, selfMs: ms(us), pct: pct(us) })),
  };
}

export function formatSummary(s: ProfileSummary, label = s.file, topN = 15): string {
  const lines = [
    `${label}: ${s.busyMs} ms busy of ${s.rangeMs} ms sampled (${s.idleMs} ms idle)`,
    `  by area: ${s.byArea
      .slice(0, 8)
      .map((a) => `${a.area} ${a.pct}%`)
      .join(', ')}`,
    '  top self time:',
    ...s.top
      .slice(0, topN)
      .map(
        (e) =>
          `    ${String(e.pct).padStart(5)}%  ${String(e.selfMs).padStart(8)} ms  ${e.function}  ${e.where}`,
      ),
  ];
  return lines.join('\n');
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const topIdx = args.indexOf('--top');
  const top = topIdx >= 0 ? Number(args.splice(topIdx, 2)[1]) : 25;
  for (const file of args)
    process.stdout.write(
      `${formatSummary(summariseProfile(file, -Infinity, Infinity, top), file, top)}\n\n`,
    );
}
