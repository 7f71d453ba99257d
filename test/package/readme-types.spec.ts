import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanCheckout, npmPack, ROOT, run, tempDir } from './clean-checkout';
import { AppKind, createFreshApp, Diagnostic, typeCheck } from './fresh-app';
import { blockFile, ReadmeBlock, readmeBlocks } from './readme-blocks';

/*
 * README.md's TypeScript compiles in a new Nest 12 app, against the package as published (issue
 * 10, A1), so that README and API cannot drift apart.
 *
 * The library is packed as `npm publish` packs it: from a clean checkout, `npm pack` running the
 * prepack build. The tarball is installed into two fresh apps with the project settings of
 * `nest new` (module/moduleResolution nodenext, isolatedModules, emitDecoratorMetadata; see
 * fresh-app.ts), one per module system `nest new` offers: `--type esm` (its default) and
 * `--type cjs`. Every TypeScript block of README.md becomes a file in the app's src/ (the rules
 * are at the top of readme-blocks.ts), fragments opened by FRAGMENT_PRELUDE, next to APP_GLOBALS,
 * and `tsc --noEmit` must report nothing.
 * A failure lists each error at its README.md line.
 */

/**
 * Opens the file of every README fragment: the names fragments use without declaring them, typed
 * as README uses them, in the fragment's module scope (so `scheduler` hides the DOM global of that
 * name that Nest's default `lib` brings in). A new fragment that needs another name adds it here.
 */
const FRAGMENT_PRELUDE = `type Lib = typeof import('nestjs-redis-scheduler');
/** An injected SchedulerService. */
declare const scheduler: InstanceType<Lib['SchedulerService']>;
/** An injected RedisLockService. */
declare const locks: InstanceType<Lib['RedisLockService']>;
/** The user's own data and work. */
declare const order: { id: string };
declare const db: { write(record: { id: string }, options: { fencingToken: number }): Promise<void> };
declare function work(signal: AbortSignal): Promise<void>;
`;

/** Names module blocks (whole files) use from the user's own code. */
const APP_GLOBALS = `declare global {
  /** Quick start: the user's own code that sends a report. */
  function sendReport(
    reportId: string,
    options: { signal: AbortSignal; fencingToken: number },
  ): Promise<void>;
}

export {};
`;

const KINDS: AppKind[] = ['esm', 'cjs'];
const blocks = readmeBlocks(readFileSync(join(ROOT, 'README.md'), 'utf8'));

let workDir: string;
const apps = new Map<AppKind, string>();

beforeAll(async () => {
  workDir = tempDir('readme');
  const checkout = cleanCheckout(join(workDir, 'checkout'));
  const packed = await npmPack(checkout, workDir);
  const tarball = join(workDir, packed.filename);
  for (const kind of KINDS) {
    const appDir = join(workDir, `app-${kind}`);
    await createFreshApp(appDir, tarball, kind);
    writeFileSync(join(appDir, 'src/readme-globals.d.ts'), APP_GLOBALS);
    for (const block of blocks.filter((b) => !b.skip)) {
      const file = blockFile(block, FRAGMENT_PRELUDE);
      writeFileSync(join(appDir, 'src', file.name), file.text);
    }
    apps.set(kind, appDir);
  }
}, 120_000);

afterAll(() => {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

/** A diagnostic at its README.md line when it is in a README block. */
function describeDiagnostic(diagnostic: Diagnostic): string {
  const block = blocks.find(
    (b) => diagnostic.file === `src/${blockFile(b, FRAGMENT_PRELUDE).name}`,
  );
  const offset = block ? blockFile(block, FRAGMENT_PRELUDE).offset : 0;
  if (!block || diagnostic.line <= offset) {
    return `${diagnostic.file}:${diagnostic.line}: ${diagnostic.message}`;
  }
  const line = block.line + diagnostic.line - 1 - offset;
  return `README.md:${line} (TypeScript block ${block.index}): ${diagnostic.message}`;
}

describe('README.md', () => {
  it('has TypeScript blocks, the Quick start among them, and says why it skips any', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(3);
    expect(blocks.some((b) => b.kind === 'module' && b.code.includes('@DistributedCron('))).toBe(
      true,
    );
    for (const block of blocks) if (block.skip !== undefined) expect(block.skip).not.toBe('');
  });

  it.each(KINDS)(
    'type-checks every TypeScript block in a fresh `nest new --type %s` app',
    async (kind) => {
      const diagnostics = await typeCheck(apps.get(kind) ?? '');
      expect(diagnostics.map(describeDiagnostic)).toEqual([]);
    },
  );

  it('loads the packed library from ESM and CommonJS with the same exports, ScheduleContext a class', async () => {
    const load = (expression: string) =>
      `console.log(JSON.stringify({ names: Object.keys(${expression}).filter(` +
      `(n) => !['default', 'module.exports', '__esModule'].includes(n)).sort(), ` +
      `scheduleContext: typeof (${expression}).ScheduleContext }));`;
    const esmDir = apps.get('esm') ?? '';
    const cjsDir = apps.get('cjs') ?? '';
    writeFileSync(
      join(esmDir, 'load.mjs'),
      `import * as lib from 'nestjs-redis-scheduler';\n${load('lib')}\n`,
    );
    writeFileSync(
      join(cjsDir, 'load.cjs'),
      `const lib = require('nestjs-redis-scheduler');\n${load('lib')}\n`,
    );
    const [esm, cjs] = await Promise.all([
      run(process.execPath, ['load.mjs'], { cwd: esmDir }),
      run(process.execPath, ['load.cjs'], { cwd: cjsDir }),
    ]);
    const fromEsm = JSON.parse(esm.stdout) as { names: string[]; scheduleContext: string };
    const fromCjs = JSON.parse(cjs.stdout) as { names: string[]; scheduleContext: string };
    expect(fromEsm.names).toEqual(fromCjs.names);
    expect(fromEsm.names).toEqual(
      expect.arrayContaining(['RedisSchedulerModule', 'ScheduleContext']),
    );
    expect([fromEsm.scheduleContext, fromCjs.scheduleContext]).toEqual(['function', 'function']);
  });
});

describe('readmeBlocks (the extraction rules)', () => {
  const markdown = [
    '# Title', // 1
    '```ts', // 2
    "import { X } from 'x';", // 3
    '```', // 4
    '```bash', // 5
    'npm test', // 6
    '```', // 7
    '<!-- readme-typecheck: skip shows a compile error on purpose -->', // 8
    '```typescript', // 9
    'const a: number = "a";', // 10
    '```', // 11
    '```ts', // 12
    'await scheduler.remove("t", "s");', // 13
    '```', // 14
  ].join('\n');

  it('takes ts and typescript blocks only, with the line of their first line of code', () => {
    const found = readmeBlocks(markdown);
    expect(found.map((b: ReadmeBlock) => [b.index, b.line, b.kind, b.skip])).toEqual([
      [1, 3, 'module', undefined],
      [2, 10, 'fragment', 'shows a compile error on purpose'],
      [3, 13, 'fragment', undefined],
    ]);
  });

  it('opens a fragment with the prelude and wraps it in an async function; keeps a module as is', () => {
    const [module, , fragment] = readmeBlocks(markdown);
    expect(blockFile(module, 'declare const scheduler: unknown;\n')).toEqual({
      name: 'readme-block-01.ts',
      offset: 0,
      text: "import { X } from 'x';\n",
    });
    expect(blockFile(fragment, 'declare const scheduler: unknown;\n')).toEqual({
      name: 'readme-block-03.ts',
      offset: 2,
      text:
        'declare const scheduler: unknown;\n' +
        'export async function readmeBlock3(): Promise<void> {\n' +
        'await scheduler.remove("t", "s");\n}\n',
    });
  });

  it('refuses a skip marker that does not say why', () => {
    expect(() => readmeBlocks('<!-- readme-typecheck: skip -->\n```ts\nx;\n```')).toThrow(
      /must say why/,
    );
  });
});
