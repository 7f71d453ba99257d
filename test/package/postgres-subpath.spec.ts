import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './clean-checkout';

/*
 * `pg` is an optional peer dependency (issue 12): the core (`nestjs-redis-scheduler`) must load
 * without it, and only the subpath `nestjs-redis-scheduler/postgres` loads it. Runs on dist/
 * (`npm run build` first), resolving the package by its own name through package.json "exports".
 */

function node(code: string): string {
  return execFileSync(process.execPath, ['-e', code], { cwd: ROOT, encoding: 'utf8' });
}

const loadsPg =
  'Object.keys(require.cache).some((f) => /[\\\\/]node_modules[\\\\/]pg[\\\\/]/.test(f))';

beforeAll(() => {
  if (!existsSync(join(ROOT, 'dist/integrations/postgres/index.js'))) {
    throw new Error('dist/integrations/postgres/index.js is missing: run `npm run build` first');
  }
});

describe('the nestjs-redis-scheduler/postgres subpath', () => {
  it('is not loaded by the core: requiring the package loads no pg module', () => {
    const out = node(
      `const core = require('nestjs-redis-scheduler');` +
        `console.log(JSON.stringify({ pg: ${loadsPg}, store: 'PostgresScheduleStore' in core }))`,
    );
    expect(JSON.parse(out)).toEqual({ pg: false, store: false });
  });

  it('exports PostgresScheduleStore and its migrations, and loads pg', () => {
    const out = node(
      `const m = require('nestjs-redis-scheduler/postgres');` +
        `console.log(JSON.stringify({ pg: ${loadsPg}, store: typeof m.PostgresScheduleStore,` +
        ` migrations: m.MIGRATIONS.map((x) => x.version) }))`,
    );
    expect(JSON.parse(out)).toEqual({ pg: true, store: 'function', migrations: [1, 2, 3, 4, 5] });
  });

  it('ships its type declarations', () => {
    expect(existsSync(join(ROOT, 'dist/integrations/postgres/index.d.ts'))).toBe(true);
  });
});
