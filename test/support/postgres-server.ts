import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// The real timers, even in a test file that turned on jest's fake timers.
import { setTimeout } from 'node:timers';
import { freePort } from './free-port';

/**
 * A private PostgreSQL per test file (CONVENTIONS.md, "Test layout"), made with `initdb` and run
 * with `pg_ctl` on a free loopback port, so that a test can stop, restart and kill it:
 *
 *   let pg: PostgresServerHandle;
 *   beforeAll(async () => (pg = await startPostgresServer()));
 *   afterAll(() => pg.stop());
 *
 * Binaries: $PG_BIN, else `pg_config --bindir`, else the newest /usr/lib/integrations/postgresql/<v>/bin.
 * initdb and postgres refuse to run as root: when the tests run as root, the cluster belongs to
 * the `postgres` user (which Debian's `postgresql` package creates; `.ci/run` installs it) or
 * $PG_TEST_USER, and the binaries run as that user. The superuser `postgres` connects over TCP
 * with `trust` authentication (loopback only). Durability is off (fsync, full_page_writes): a
 * test cluster never outlives its test file.
 */

export interface PostgresServerHandle {
  readonly host: string;
  /** Stays the same across restart(). */
  readonly port: number;
  /** `postgres://postgres@127.0.0.1:<port>/postgres` */
  readonly url: string;
  /** The data directory, removed by stop(). */
  readonly dir: string;
  /** pid of the postmaster, 0 while down. */
  pid(): number;
  /** `pg_ctl stop -m fast` (connections are closed); the data stays. */
  down(): Promise<void>;
  /** `pg_ctl start` after down() or kill(). */
  up(): Promise<void>;
  /** down() then up() after `downMs` (an outage the clients see as refused connections). */
  restart(options?: { downMs?: number }): Promise<void>;
  /** SIGKILL to the postmaster (a crash); its backends exit when they notice. up() recovers. */
  kill(): Promise<void>;
  /** Stops the server (immediate) and removes the data directory. Safe to call twice. */
  stop(): Promise<void>;
  /** The end of the server log, for failure messages. */
  output(): string;
}

const HOST = '127.0.0.1';
const START_TIMEOUT_S = 30;
const MAX_START_ATTEMPTS = 3;

/** The directory holding initdb, pg_ctl and postgres. */
export function postgresBinDir(): string {
  const candidates: string[] = [];
  if (process.env.PG_BIN) candidates.push(process.env.PG_BIN);
  try {
    const out = execFileSync('pg_config', ['--bindir'], { encoding: 'utf8', stdio: 'pipe' });
    candidates.push(out.trim());
  } catch {
    // pg_config is missing (no libpq-dev / postgresql-common): try the Debian layout.
  }
  const debian = '/usr/lib/integrations/postgresql';
  if (existsSync(debian)) {
    const versions = readdirSync(debian)
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((v) => join(debian, v, 'bin')));
  }
  const found = candidates.find((dir) => existsSync(join(dir, 'initdb')));
  if (!found) {
    throw new Error(
      `PostgreSQL's initdb not found (tried ${candidates.join(', ') || 'nothing'}): install ` +
        "Debian's `postgresql` package (.ci/run does) or set PG_BIN to the directory holding initdb",
    );
  }
  return found;
}

/** uid/gid to run the binaries as: undefined when not root. */
function runAs(): { uid: number; gid: number } | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  const user = process.env.PG_TEST_USER || 'postgres';
  try {
    const uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8', stdio: 'pipe' }));
    const gid = Number(execFileSync('id', ['-g', user], { encoding: 'utf8', stdio: 'pipe' }));
    return { uid, gid };
  } catch {
    throw new Error(
      `the tests run as root and initdb refuses root, but user ${JSON.stringify(user)} does not ` +
        "exist: install Debian's `postgresql` package (creates `postgres`) or set PG_TEST_USER",
    );
  }
}

const live = new Set<PostgresServer>();
let exitHookInstalled = false;

export async function startPostgresServer(): Promise<PostgresServerHandle> {
  const bin = postgresBinDir();
  const user = runAs();
  const dir = mkdtempSync(join(tmpdir(), 'pg-test-'));
  if (user) chownSync(dir, user.uid, user.gid);
  const data = join(dir, 'data');
  const init = spawnSync(
    join(bin, 'initdb'),
    ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-locale', '--no-sync'],
    { encoding: 'utf8', ...user, cwd: dir },
  );
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed (${init.status}):\n${init.stdout}\n${init.stderr}`);
  }
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // The jest worker exits without afterAll (a crash, a timeout): leave no server behind.
    process.once('exit', () => [...live].forEach((server) => server.stopSync()));
  }
  for (let attempt = 1; ; attempt++) {
    const server = new PostgresServer(bin, dir, await freePort(HOST), user);
    live.add(server);
    try {
      await server.up();
      return server;
    } catch (error) {
      // Another process may take the port between freePort() and the bind: try another port.
      live.delete(server);
      const clash = /could not bind|address already in use/i.test(server.output());
      if (!clash || attempt >= MAX_START_ATTEMPTS) {
        rmSync(dir, { recursive: true, force: true });
        throw error;
      }
    }
  }
}

class PostgresServer implements PostgresServerHandle {
  readonly host = HOST;
  private stopped = false;

  constructor(
    private readonly bin: string,
    readonly dir: string,
    readonly port: number,
    private readonly user: { uid: number; gid: number } | undefined,
  ) {}

  get url(): string {
    return `postgres://postgres@${HOST}:${this.port}/postgres`;
  }

  private get data(): string {
    return join(this.dir, 'data');
  }

  private get log(): string {
    return join(this.dir, 'server.log');
  }

  pid(): number {
    try {
      return Number(readFileSync(join(this.data, 'postmaster.pid'), 'utf8').split('\n')[0]) || 0;
    } catch {
      return 0;
    }
  }

  output(): string {
    try {
      return readFileSync(this.log, 'utf8').slice(-8_000);
    } catch {
      return '';
    }
  }

  async up(): Promise<void> {
    if (this.stopped) throw new Error('postgres: up() after stop()');
    const options = [
      `-p ${this.port}`,
      `-c listen_addresses=${HOST}`,
      "-c unix_socket_directories=''", // TCP only: no socket lock file to go stale on kill()
      '-c fsync=off',
      '-c full_page_writes=off',
      '-c synchronous_commit=off',
      '-c max_connections=200',
      '-c shared_buffers=32MB',
    ].join(' ');
    await this.pgCtl(['start', '-w', '-t', String(START_TIMEOUT_S), '-l', this.log, '-o', options]);
  }

  async down(): Promise<void> {
    await this.pgCtl(['stop', '-w', '-m', 'fast']);
  }

  async restart(options: { downMs?: number } = {}): Promise<void> {
    await this.down();
    // An outage: the port refuses connections for this long.
    if (options.downMs) await new Promise((resolve) => setTimeout(resolve, options.downMs));
    await this.up();
  }

  async kill(): Promise<void> {
    const pid = this.pid();
    if (!pid) return;
    process.kill(pid, 'SIGKILL');
    // Gone once signal 0 fails; the backends notice the postmaster's death on their own.
    for (let i = 0; i < 200 && alive(pid); i++) await new Promise((r) => setTimeout(r, 25));
    // pg_ctl detached the postmaster: where nothing reaps orphans (a container whose pid 1 is not
    // an init), it stays a zombie, which postgres's own stale-lock check takes for a live server.
    rmSync(join(this.data, 'postmaster.pid'), { force: true });
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopSync();
    await Promise.resolve();
  }

  stopSync(): void {
    if (this.stopped) return;
    this.stopped = true;
    live.delete(this);
    if (this.pid()) {
      spawnSync(join(this.bin, 'pg_ctl'), ['stop', '-D', this.data, '-w', '-m', 'immediate'], {
        ...this.user,
        stdio: 'ignore',
        timeout: 15_000,
      });
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async pgCtl(args: string[]): Promise<void> {
    const child = spawn(
      join(this.bin, 'pg_ctl'),
      [...args.slice(0, 1), '-D', this.data, ...args.slice(1)],
      {
        ...this.user,
        cwd: this.dir,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    if (code !== 0) {
      throw new Error(`pg_ctl ${args[0]} failed (${code}): ${out}\n--- log ---\n${this.output()}`);
    }
  }
}

/** True while `pid` runs; a zombie (exited, not yet reaped by the process that adopted it, since
 * pg_ctl detaches the postmaster) counts as gone. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true; // no /proc: signal 0 is all we have
  }
}
