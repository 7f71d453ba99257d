import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanCheckout, npmPack, run, tempDir } from './clean-checkout';
import { createFreshApp } from './fresh-app';

/*
 * Optional integrations live behind their own subpath export, and the core never loads them
 * (issue 13): `nestjs-redis-scheduler/http` (and undici, its optional peer) is loaded only by an
 * app that imports it. The package is packed as `npm publish` packs it and installed into fresh
 * apps (ESM and CommonJS).
 */

let workDir: string;
let cjsApp: string;
let esmApp: string;

beforeAll(async () => {
  workDir = tempDir('subpath');
  const checkout = cleanCheckout(join(workDir, 'checkout'));
  const packed = await npmPack(checkout, workDir);
  const tarball = join(workDir, packed.filename);
  cjsApp = join(workDir, 'app-cjs');
  esmApp = join(workDir, 'app-esm');
  await createFreshApp(cjsApp, tarball, 'cjs');
  await createFreshApp(esmApp, tarball, 'esm');
}, 120_000);

afterAll(() => {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

/** Prints the loaded module files matching the optional integrations, as JSON. */
const LOADED =
  "JSON.stringify(Object.keys(require('node:module')._cache)" +
  '.filter((f) => /[\\\\/](integrations[\\\\/]http|undici)[\\\\/]/.test(f)).length)';
/** The same for the admin integration. */
const LOADED_ADMIN =
  "JSON.stringify(Object.keys(require('node:module')._cache)" +
  '.filter((f) => /[\\\\/]integrations[\\\\/]admin[\\\\/]/.test(f)).length)';

describe('nestjs-redis-scheduler/http', () => {
  it('is not loaded by the core, nor is undici', async () => {
    writeFileSync(
      join(cjsApp, 'core.cjs'),
      `const lib = require('nestjs-redis-scheduler');\n` +
        `if (typeof lib.RedisSchedulerModule !== 'function') throw new Error('no core');\n` +
        `console.log(${LOADED});\n`,
    );
    const { stdout } = await run(process.execPath, ['core.cjs'], { cwd: cjsApp });
    expect(stdout.trim()).toBe('0');
  });

  it('loads from CommonJS and ESM, with the same core instance as the main entry', async () => {
    writeFileSync(
      join(cjsApp, 'http.cjs'),
      `const http = require('nestjs-redis-scheduler/http');\n` +
        `console.log(JSON.stringify([typeof http.HttpTargetsModule, http.HTTP_HANDLER, ` +
        `new http.HttpTargetRejectedError('t', 400, 1) instanceof ` +
        `require('nestjs-redis-scheduler').NonRetryableError, ${LOADED} > 0]));\n`,
    );
    writeFileSync(
      join(esmApp, 'http.mjs'),
      `import { HttpTargetsModule, HttpTargetRejectedError } from 'nestjs-redis-scheduler/http';\n` +
        `import { NonRetryableError } from 'nestjs-redis-scheduler';\n` +
        `console.log(JSON.stringify([typeof HttpTargetsModule, ` +
        `new HttpTargetRejectedError('t', 400, 1) instanceof NonRetryableError]));\n`,
    );
    const [cjs, esm] = await Promise.all([
      run(process.execPath, ['http.cjs'], { cwd: cjsApp }),
      run(process.execPath, ['http.mjs'], { cwd: esmApp }),
    ]);
    expect(JSON.parse(cjs.stdout)).toEqual(['function', 'http', true, true]);
    expect(JSON.parse(esm.stdout)).toEqual(['function', true]);
  });
});

describe('nestjs-redis-scheduler/admin', () => {
  it('is not loaded by the core', async () => {
    writeFileSync(
      join(cjsApp, 'core-admin.cjs'),
      `require('nestjs-redis-scheduler');\nconsole.log(${LOADED_ADMIN});\n`,
    );
    const { stdout } = await run(process.execPath, ['core-admin.cjs'], { cwd: cjsApp });
    expect(stdout.trim()).toBe('0');
  });

  it('loads from CommonJS and ESM, with the same core instance as the main entry', async () => {
    writeFileSync(
      join(cjsApp, 'admin.cjs'),
      `const admin = require('nestjs-redis-scheduler/admin');\n` +
        `console.log(JSON.stringify([typeof admin.SchedulerAdminModule, ` +
        `new admin.ScheduleNotFoundError('t', 's') instanceof ` +
        `require('nestjs-redis-scheduler').SchedulerError, ${LOADED} === '0']));\n`,
    );
    writeFileSync(
      join(esmApp, 'admin.mjs'),
      `import { SchedulerAdminModule, ScheduleNotFoundError } from 'nestjs-redis-scheduler/admin';\n` +
        `import { SchedulerError } from 'nestjs-redis-scheduler';\n` +
        `console.log(JSON.stringify([typeof SchedulerAdminModule, ` +
        `new ScheduleNotFoundError('t', 's') instanceof SchedulerError]));\n`,
    );
    const [cjs, esm] = await Promise.all([
      run(process.execPath, ['admin.cjs'], { cwd: cjsApp }),
      run(process.execPath, ['admin.mjs'], { cwd: esmApp }),
    ]);
    // The admin API reads HTTP circuits through the core's token: it never loads the http one.
    expect(JSON.parse(cjs.stdout)).toEqual(['function', true, true]);
    expect(JSON.parse(esm.stdout)).toEqual(['function', true]);
  });
});
