import { execFile, execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  realpathSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** The repository's root (the package being packed). */
export const ROOT = join(__dirname, '../..');

/** The project's installed packages, symlinked into the copies and apps the tests make. */
export const NODE_MODULES = realpathSync(join(ROOT, 'node_modules'));

export interface RunResult {
  stdout: string;
  stderr: string;
}

/**
 * The environment of the commands the tests run. `npm test` exports its own state (`npm_*`,
 * `INIT_CWD`) to its children; an `npm` started inside must read the copy's package.json, not
 * inherit the outer run's, so those variables are dropped.
 */
function childEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name) && name !== 'INIT_CWD'),
  );
}

/** Runs a command to its end within `timeoutMs`; rejects with its whole output if it fails. */
export function run(
  file: string,
  args: string[],
  options: { cwd: string; timeoutMs?: number },
): Promise<RunResult> {
  const { cwd, timeoutMs = 90_000 } = options;
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      { cwd, env: childEnv(), timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (!error) return resolve({ stdout, stderr });
        const command = [file, ...args].join(' ');
        reject(new Error(`${command} (in ${cwd}) failed: ${error.message}\n${stdout}\n${stderr}`));
      },
    );
  });
}

/** A new empty directory under the OS temp directory; the caller removes it. */
export function tempDir(name: string): string {
  return mkdtempSync(join(tmpdir(), `rsched-${name}-`));
}

/**
 * Copies what a clean checkout holds (the files git tracks, plus new files it does not ignore, so
 * the test also covers work not yet committed) into `dir`, without dist/ or any build output, and
 * links the project's node_modules into it, as `npm ci` would have installed it.
 */
export function cleanCheckout(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const listing = execFileSync(
    'git',
    ['ls-files', '-z', '--cached', '--others', '--exclude-standard'],
    {
      cwd: ROOT,
      encoding: 'utf8',
    },
  );
  const files = listing
    .split('\0')
    .filter((file) => file !== '' && file !== 'node_modules' && existsSync(join(ROOT, file)));
  for (const file of files) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    copyFileSync(join(ROOT, file), join(dir, file));
  }
  symlinkSync(NODE_MODULES, join(dir, 'node_modules'), 'dir');
  return dir;
}

/** One file of `npm pack --json`'s listing. */
export interface PackedFile {
  path: string;
  size: number;
}

/** What `npm pack --json` reports about the package. */
export interface PackResult {
  filename: string;
  files: PackedFile[];
  size: number;
  unpackedSize: number;
  entryCount: number;
}

/**
 * `npm pack --json` in `dir`, running the lifecycle scripts (`prepack`) as `npm publish` does.
 * With `destination`, writes the tarball there; without, packs with `--dry-run`.
 */
export async function npmPack(dir: string, destination?: string): Promise<PackResult> {
  const where = destination ? ['--pack-destination', destination] : ['--dry-run'];
  const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts=false', ...where], {
    cwd: dir,
  });
  // Lifecycle scripts may print before the JSON; the JSON array starts on a line of its own.
  const start = stdout.search(/^\[/m);
  if (start === -1) throw new Error(`npm pack printed no JSON:\n${stdout}`);
  const [result] = JSON.parse(stdout.slice(start)) as PackResult[];
  return result;
}
