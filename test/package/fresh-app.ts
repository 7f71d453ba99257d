import {
  existsSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { NODE_MODULES, run } from './clean-checkout';

/** `nest new --type esm` (the default) or `nest new --type cjs`. */
export type AppKind = 'esm' | 'cjs';

const PACKAGE = 'nestjs-redis-scheduler';

/** The templates @nestjs/schematics' application schematic writes for `nest new`. */
const TEMPLATES = join(NODE_MODULES, '@nestjs/schematics/dist/lib/application/files');

/**
 * The tsconfig.json `nest new` writes, read from the installed @nestjs/schematics so that the
 * test follows Nest's defaults when they change. `strict` takes the prompt's default (true).
 * `types` is the one change: the template lists the test runner's globals (`jest` or
 * `vitest/globals`), which the app does not install and README code must not rely on.
 */
export function nestNewTsconfig(kind: AppKind): { compilerOptions: Record<string, unknown> } {
  const file = join(TEMPLATES, kind === 'esm' ? 'ts-esm' : 'ts', 'tsconfig.json');
  if (!existsSync(file)) {
    throw new Error(
      `${file} is missing: @nestjs/schematics (a dependency of @nestjs/cli) moved it`,
    );
  }
  const text = readFileSync(file, 'utf8').replace('<%= strict %>', 'true');
  if (text.includes('<%')) throw new Error(`${file} has a template tag this test does not fill`);
  const tsconfig = JSON.parse(text) as { compilerOptions: Record<string, unknown> };
  tsconfig.compilerOptions.types = ['node'];
  return tsconfig;
}

function link(appDir: string, name: string): void {
  const target = join(NODE_MODULES, name);
  if (!existsSync(target)) throw new Error(`${name} is not installed in ${NODE_MODULES}`);
  const path = join(appDir, 'node_modules', name);
  mkdirSync(dirname(path), { recursive: true });
  symlinkSync(realpathSync(target), path, 'dir');
}

/**
 * A new app in `appDir`, as `nest new` lays it out, with the packed library installed from
 * `tarball`: its files unpacked into node_modules/nestjs-redis-scheduler exactly as the tarball
 * holds them, next to its dependencies and peers, TypeScript and @types/node (linked from the
 * project's node_modules, so that nothing is downloaded).
 */
export async function createFreshApp(
  appDir: string,
  tarball: string,
  kind: AppKind,
): Promise<void> {
  const installed = join(appDir, 'node_modules', PACKAGE);
  mkdirSync(installed, { recursive: true });
  mkdirSync(join(appDir, 'src'));
  await run('tar', ['-xzf', tarball, '-C', installed, '--strip-components=1'], { cwd: appDir });
  const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
    peerDependencies?: Record<string, string>;
  };
  const runtime = { ...manifest.dependencies, ...manifest.peerDependencies };
  const tools = { typescript: '*', '@types/node': '*' };
  for (const name of [...Object.keys(runtime), ...Object.keys(tools)]) link(appDir, name);
  const app = {
    name: `readme-app-${kind}`,
    private: true,
    ...(kind === 'esm' ? { type: 'module' } : {}),
    dependencies: { [PACKAGE]: `file:${tarball}`, ...manifest.peerDependencies },
    devDependencies: tools,
  };
  writeFileSync(join(appDir, 'package.json'), `${JSON.stringify(app, null, 2)}\n`);
  writeFileSync(
    join(appDir, 'tsconfig.json'),
    `${JSON.stringify(nestNewTsconfig(kind), null, 2)}\n`,
  );
}

/** A tsc diagnostic: the file relative to the app, 1-based line, and the message. */
export interface Diagnostic {
  file: string;
  line: number;
  message: string;
}

/** `tsc --noEmit` with the app's tsconfig; every diagnostic it prints, none when it passes. */
export async function typeCheck(appDir: string): Promise<Diagnostic[]> {
  const tsc = join(appDir, 'node_modules/typescript/bin/tsc');
  const output = await run(process.execPath, [tsc, '--noEmit', '--pretty', 'false'], {
    cwd: appDir,
  }).then(
    () => '',
    (error: Error) => error.message,
  );
  const diagnostics: Diagnostic[] = [];
  // `file(line,col): error TSn: …` with indented continuation lines; `error TSn: …` for the project.
  const pattern = /^(?:(.+?)\((\d+),\d+\): )?(error TS\d+:.*(?:\n[ \t]+.*)*)/gm;
  for (const match of output.matchAll(pattern)) {
    diagnostics.push({ file: match[1] ?? '', line: Number(match[2] ?? 0), message: match[3] });
  }
  if (output && diagnostics.length === 0)
    throw new Error(`tsc failed without diagnostics:\n${output}`);
  return diagnostics;
}
