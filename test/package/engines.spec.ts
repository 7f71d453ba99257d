import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, run, tempDir } from './clean-checkout';

/*
 * package.json `engines.node` is true (issue 10, A5). Nest 12's packages are ESM, and this
 * CommonJS library loads them with require(esm), which Node runs without a flag from 20.19.0 on
 * the 20 line and from 22.12.0 on (flagged in 22.0–22.11 and in 21, absent before). .ci/run checks
 * the running Node against the range with .ci/check-node-version.js, tested here too.
 */

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { satisfies } = require('../../.ci/check-node-version.js') as {
  satisfies(version: string, range: string): boolean;
};

const CHECK_SCRIPT = join(ROOT, '.ci/check-node-version.js');
const range = (
  JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    engines: { node: string };
  }
).engines.node;

describe('engines.node', () => {
  it.each(['20.19.0', '20.20.2', '22.12.0', '22.20.0', '23.0.0', '24.0.0', '25.1.0'])(
    'accepts %s, which runs require(esm) without a flag',
    (version) => expect(satisfies(version, range)).toBe(true),
  );

  it.each(['18.20.8', '20.11.0', '20.18.3', '21.7.3', '22.0.0', '22.11.0'])(
    'refuses %s, where require(esm) is missing or behind a flag',
    (version) => expect(satisfies(version, range)).toBe(false),
  );

  it('matches the running Node, which loads @nestjs/core with require()', async () => {
    expect(satisfies(process.version, range)).toBe(true);
    const script = "console.log(typeof require('@nestjs/core').NestFactory)";
    const { stdout } = await run(process.execPath, ['-e', script], { cwd: ROOT });
    expect(stdout.trim()).toBe('object');
  });

  it('is the range package-lock.json records for the root package', () => {
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { engines?: { node: string } }>;
    };
    expect(lock.packages[''].engines?.node).toBe(range);
  });
});

describe('.ci/check-node-version.js', () => {
  it.each([
    ['20.19.0', '^20.19.0', true],
    ['21.0.0', '^20.19.0', false],
    ['0.2.9', '^0.2.3', true],
    ['0.3.0', '^0.2.3', false],
    ['0.0.4', '^0.0.3', false],
    ['1.2.9', '~1.2.3', true],
    ['1.3.0', '~1.2.3', false],
    ['20.11.0', '>=20.11', true],
    ['20.10.9', '>=20.11', false],
    ['20.9.0', '>=20 <21', true],
    ['21.0.0', '>=20 <21', false],
    ['20.0.0', '>20.0.0', false],
    ['20.0.0', '<=20.0.0', true],
    ['20.0.1', '=20.0.0', false],
    ['v22.12.0', '^20.19.0 || >=22.12.0', true],
    ['22.13.0-nightly2025', '^20.19.0 || >=22.12.0', true],
  ])('%s in "%s": %s', (version, r, expected) => expect(satisfies(version, r)).toBe(expected));

  it.each(['^20', '~20.1', '20.x', '>= 20', '1.0.0 - 2.0.0', '*'])(
    'refuses to guess what "%s" means',
    (r) => expect(() => satisfies('20.0.0', r)).toThrow(/cannot read/),
  );

  describe('run by .ci/run', () => {
    let dir: string;
    beforeAll(() => (dir = tempDir('engines')));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    /** The script run from a copy of .ci/ whose package.json says `engines.node: nodeRange`. */
    async function runCheck(nodeRange: string): Promise<{ code: number; output: string }> {
      mkdirSync(join(dir, '.ci'), { recursive: true });
      copyFileSync(CHECK_SCRIPT, join(dir, '.ci/check-node-version.js'));
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ engines: { node: nodeRange } }));
      return run(process.execPath, ['.ci/check-node-version.js'], { cwd: dir }).then(
        ({ stdout, stderr }) => ({ code: 0, output: stdout + stderr }),
        (error: Error) => ({ code: 1, output: error.message }),
      );
    }

    it('passes on this Node with the project range', async () => {
      const { code, output } = await runCheck(range);
      expect(code).toBe(0);
      expect(output).toContain(`node ${process.version} satisfies engines.node "${range}"`);
    });

    it('fails with what to fix on a Node outside the range', async () => {
      const { code, output } = await runCheck('>=99.0.0');
      expect(code).toBe(1);
      expect(output).toContain(`ci: FAILED: node ${process.version} does not satisfy`);
      expect(output).toContain('require(esm)');
    });
  });
});
