import {
  existsSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { cleanCheckout, NODE_MODULES, npmPack, ROOT, run, tempDir } from './clean-checkout';

/*
 * The optional integrations (issue 11): each is an optional peer dependency behind its own subpath
 * export. Loading `nestjs-redis-scheduler` loads none of them, so an app without them installs and
 * runs unchanged; each subpath resolves from the packed package once its peer is installed.
 */

interface Manifest {
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
  peerDependenciesMeta: Record<string, { optional?: boolean }>;
  exports: Record<string, unknown>;
}
const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Manifest;

/** Subpath → its optional peer and what it exports. */
const SUBPATHS: Record<string, { peer: string; exports: string[] }> = {
  terminus: {
    peer: '@nestjs/terminus',
    exports: ['SchedulerHealthIndicator', 'SchedulerHealthModule'],
  },
  prometheus: { peer: 'prom-client', exports: ['SchedulerMetricsModule', 'SchedulerMetrics'] },
  opentelemetry: {
    peer: '@opentelemetry/api',
    exports: ['SchedulerTracingModule', 'SchedulerTracing'],
  },
  'event-emitter': {
    peer: '@nestjs/event-emitter',
    exports: ['SchedulerEventEmitterModule', 'SchedulerEventBridge'],
  },
};
/** Optional peers of the admin API's own options (throttling, Swagger UI), watched too. */
const ADMIN_PEERS = ['@nestjs/throttler', '@nestjs/swagger'];
const OPTIONAL = [...Object.values(SUBPATHS).map((s) => s.peer), ...ADMIN_PEERS];

/** Prints, as JSON, what the script's `load()` returned and every request that named a peer. */
const probe = (load: string): string => `
const Module = require('node:module');
const requests = [];
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  requests.push(request);
  return resolve.call(this, request, ...rest);
};
const optional = ${JSON.stringify(OPTIONAL)};
let result;
try { result = (${load})(); } catch (error) { result = { error: error.code + ': ' + error.message.split('\\n')[0] }; }
const peers = [...new Set(requests.filter((r) => optional.some((p) => r === p || r.startsWith(p + '/'))))];
console.log(JSON.stringify({ result, peers }));
`;

let workDir: string;
let bare: string;
let full: string;

/** An app with the packed library and the packages `names` (linked from the project's). */
async function app(dir: string, tarball: string, names: string[]): Promise<string> {
  const installed = join(dir, 'node_modules/nestjs-redis-scheduler');
  mkdirSync(installed, { recursive: true });
  await run('tar', ['-xzf', tarball, '-C', installed, '--strip-components=1'], { cwd: dir });
  for (const name of names) {
    const path = join(dir, 'node_modules', name);
    mkdirSync(dirname(path), { recursive: true });
    symlinkSync(realpathSync(join(NODE_MODULES, name)), path, 'dir');
  }
  writeFileSync(join(dir, 'package.json'), '{ "name": "peers-app", "private": true }\n');
  return dir;
}

async function inApp(dir: string, load: string): Promise<{ result: unknown; peers: string[] }> {
  const { stdout } = await run(process.execPath, ['-e', probe(load)], { cwd: dir });
  return JSON.parse(stdout.trim().split('\n').pop() ?? '') as { result: unknown; peers: string[] };
}

beforeAll(async () => {
  workDir = tempDir('peers');
  const checkout = cleanCheckout(join(workDir, 'checkout'));
  const packed = await npmPack(checkout, workDir);
  const tarball = join(workDir, packed.filename);
  const required = [
    ...Object.keys(manifest.dependencies),
    ...Object.keys(manifest.peerDependencies).filter(
      (p) => !manifest.peerDependenciesMeta[p]?.optional,
    ),
  ];
  bare = await app(join(workDir, 'bare'), tarball, required);
  full = await app(join(workDir, 'full'), tarball, [...required, ...OPTIONAL]);
}, 180_000);

afterAll(() => {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

describe('optional peer dependencies', () => {
  it('are declared optional peers, each behind its own subpath export', () => {
    for (const [subpath, { peer }] of Object.entries(SUBPATHS)) {
      expect(manifest.peerDependencies[peer]).toMatch(/^\^\d+/);
      expect(manifest.peerDependenciesMeta[peer]).toEqual({ optional: true });
      expect(manifest.exports[`./${subpath}`]).toEqual({
        types: `./dist/integrations/${subpath}/index.d.ts`,
        default: `./dist/integrations/${subpath}/index.js`,
      });
    }
  });

  it('the core loads in an app that has none of them', async () => {
    expect(existsSync(join(bare, 'node_modules/prom-client'))).toBe(false);
    const { result, peers } = await inApp(
      bare,
      "() => { const lib = require('nestjs-redis-scheduler'); return [typeof lib.RedisSchedulerModule, typeof lib.SchedulerMonitor, typeof lib.RunInstrumentation]; }",
    );
    expect(result).toEqual(['function', 'function', 'function']);
    expect(peers).toEqual([]);
  });

  it('the core requests none of them when they are installed', async () => {
    const { result, peers } = await inApp(
      full,
      "() => Object.keys(require('nestjs-redis-scheduler')).length",
    );
    expect(result).toBeGreaterThan(20);
    expect(peers).toEqual([]);
  });

  it.each(Object.entries(SUBPATHS))(
    'nestjs-redis-scheduler/%s resolves from the built package and loads its peer',
    async (subpath, { peer, exports }) => {
      const { result, peers } = await inApp(
        full,
        `() => { const m = require('nestjs-redis-scheduler/${subpath}'); return [require.resolve('nestjs-redis-scheduler/${subpath}'), ${JSON.stringify(exports)}.map((n) => typeof m[n])]; }`,
      );
      const [file, kinds] = result as [string, string[]];
      expect(realpathSync(file)).toBe(
        realpathSync(
          join(full, `node_modules/nestjs-redis-scheduler/dist/integrations/${subpath}/index.js`),
        ),
      );
      expect(kinds).toEqual(exports.map(() => 'function'));
      expect(peers).toContain(peer);
    },
  );

  it.each(Object.entries(SUBPATHS))(
    'nestjs-redis-scheduler/%s without its peer fails to load, naming the peer',
    async (subpath, { peer }) => {
      const { result } = await inApp(bare, `() => require('nestjs-redis-scheduler/${subpath}')`);
      expect((result as { error: string }).error).toMatch(
        new RegExp(`^MODULE_NOT_FOUND: Cannot find module '${peer}`),
      );
    },
  );

  it('nestjs-redis-scheduler/admin loads without any optional peer (its routes need only Nest)', async () => {
    expect(manifest.exports['./admin']).toEqual({
      types: './dist/integrations/admin/index.d.ts',
      default: './dist/integrations/admin/index.js',
    });
    const { result, peers } = await inApp(
      bare,
      "() => ['SchedulerAdminModule', 'SchedulerAdminGuard'].map((n) => typeof require('nestjs-redis-scheduler/admin')[n])",
    );
    expect(result).toEqual(['function', 'function']);
    expect(peers).toEqual([]);
  });
});
