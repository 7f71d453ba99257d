import { builtinModules } from 'node:module';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, posix } from 'node:path';
import { cleanCheckout, npmPack, PackResult, ROOT, tempDir } from './clean-checkout';

/*
 * What `npm publish` would ship (issue 10, A6): `npm pack --dry-run --json` in a clean checkout
 * (no dist/), so the prepack build has to make the library. The listing must hold the compiled
 * library with its Lua scripts, README, LICENSE and package.json, and nothing else; what the
 * shipped files reference (source maps, relative requires and imports, Lua includes, packages)
 * must be in the package or in its dependencies.
 */

interface Manifest {
  license: string;
  keywords?: string[];
  homepage?: string;
  repository?: { type: string; url: string };
  scripts: Record<string, string>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

let workDir: string;
let checkout: string;
let pack: PackResult;
let shipped: Set<string>;
const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Manifest;

beforeAll(async () => {
  workDir = tempDir('pack');
  checkout = cleanCheckout(join(workDir, 'checkout'));
  pack = await npmPack(checkout);
  shipped = new Set(pack.files.map((file) => file.path));
}, 120_000);

afterAll(() => {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

/** Paths under lib/ (relative to it) of the files whose name ends with `suffix`. */
function libFiles(suffix: string, dir = ''): string[] {
  return readdirSync(join(ROOT, 'lib', dir), { withFileTypes: true }).flatMap((entry) => {
    const path = dir ? `${dir}/${entry.name}` : entry.name;
    if (entry.isDirectory()) return libFiles(suffix, path);
    return entry.name.endsWith(suffix) ? [path] : [];
  });
}

/** Shipped files whose path ends with `suffix`, with their text (read from the packed build). */
function shippedTexts(suffix: string): [string, string][] {
  return [...shipped]
    .filter((path) => path.endsWith(suffix))
    .map((path) => [path, readFileSync(join(checkout, path), 'utf8')]);
}

/** `target` relative to the directory of `from`, both package paths, as a package path. */
function resolveFrom(from: string, target: string): string {
  return posix.normalize(posix.join(posix.dirname(from), target));
}

describe('npm pack of a clean checkout', () => {
  it('builds the library in prepack and ships every compiled file and Lua script', () => {
    const expected = [
      'dist/index.js',
      'dist/index.d.ts',
      ...libFiles('.ts').flatMap((file) => {
        const base = `dist/${file.replace(/\.ts$/, '')}`;
        return [`${base}.js`, `${base}.d.ts`];
      }),
      ...libFiles('.lua').map((file) => `dist/${file}`),
    ];
    expect(expected.filter((path) => !shipped.has(path))).toEqual([]);
    expect(expected).toContain('dist/redis/scripts/includes/nowMs.lua');
    expect(manifest.scripts.prepack).toBe('npm run build');
  });

  it('ships the dashboard: every file of its assets folder, and every file they load', () => {
    const dir = 'integrations/admin/dashboard/assets';
    const assets = readdirSync(join(ROOT, 'lib', dir)).map((name) => `dist/${dir}/${name}`);
    expect(assets).toEqual(
      expect.arrayContaining([`dist/${dir}/index.html`, `dist/${dir}/app.js`]),
    );
    expect(assets.filter((path) => !shipped.has(path))).toEqual([]);
    // The page's links are relative to its <base> ('/{path}/'); modules import each other.
    const loads: string[] = [];
    const [[, html]] = shippedTexts(`${dir}/index.html`);
    for (const [, ref] of html.matchAll(/(?:src|href)="(assets\/[^"]+)"/g)) {
      loads.push(`dist/${dir}/../${ref}`);
    }
    for (const [path, text] of shippedTexts('.js').filter(([path]) => path.includes(dir))) {
      for (const [, ref] of text.matchAll(/^import [^;]*? from '([^']+)';$/gm)) {
        loads.push(resolveFrom(path, ref));
      }
    }
    expect(loads.length).toBeGreaterThan(5);
    expect(loads.map((path) => posix.normalize(path)).filter((path) => !shipped.has(path))).toEqual(
      [],
    );
  });

  it('ships README.md, LICENSE (the MIT license package.json names) and package.json', () => {
    for (const file of ['README.md', 'LICENSE', 'package.json']) expect(shipped).toContain(file);
    expect(manifest.license).toBe('MIT');
    expect(readFileSync(join(ROOT, 'LICENSE'), 'utf8')).toMatch(/^MIT License\n\nCopyright \(c\)/);
  });

  it('ships nothing else: no sources, tests, sample, CI files or node_modules', () => {
    const extra = [...shipped].filter(
      (path) =>
        !path.startsWith('dist/') && !['README.md', 'LICENSE', 'package.json'].includes(path),
    );
    expect(extra).toEqual([]);
    const forbidden = /(^|\/)(node_modules|test|sample|lib|\.ci|\.git)\/|\.tsbuildinfo$|\.spec\./;
    expect([...shipped].filter((path) => forbidden.test(path))).toEqual([]);
  });

  it('has source maps only where they point at shipped files', () => {
    const broken: string[] = [];
    for (const [path, text] of shippedTexts('.js')) {
      const url = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(text)?.[1];
      if (url && !shipped.has(resolveFrom(path, url))) broken.push(`${path} -> ${url}`);
    }
    for (const [path, text] of shippedTexts('.map')) {
      const map = JSON.parse(text) as { sourceRoot?: string; sources: string[] };
      for (const source of map.sources) {
        const target = resolveFrom(path, posix.join(map.sourceRoot ?? '', source));
        if (!shipped.has(target)) broken.push(`${path} -> ${source}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('references only shipped files, its dependencies, its peers and Node built-ins', () => {
    const allowed = new Set([
      ...Object.keys(manifest.dependencies ?? {}),
      ...Object.keys(manifest.peerDependencies ?? {}),
    ]);
    const packageName = (specifier: string) =>
      specifier
        .split('/')
        .slice(0, specifier.startsWith('@') ? 2 : 1)
        .join('/');
    const unresolved: string[] = [];
    const check = (path: string, specifier: string, candidates: string[]) => {
      if (specifier.startsWith('.')) {
        const base = resolveFrom(path, specifier);
        if (!candidates.some((ext) => shipped.has(`${base}${ext}`))) {
          unresolved.push(`${path}: ${specifier}`);
        }
      } else if (
        !specifier.startsWith('node:') &&
        !builtinModules.includes(specifier) &&
        !allowed.has(packageName(specifier))
      ) {
        unresolved.push(`${path}: ${specifier} (not a dependency or peer)`);
      }
    };
    for (const [path, text] of shippedTexts('.js')) {
      for (const [, specifier] of text.matchAll(/\brequire\("([^"]+)"\)/g)) {
        check(path, specifier, ['', '.js', '/index.js']);
      }
    }
    for (const [path, text] of shippedTexts('.d.ts')) {
      for (const [, specifier] of text.matchAll(/(?:from |import\()["']([^"']+)["']/g)) {
        check(path, specifier, ['.d.ts', '/index.d.ts']);
      }
    }
    for (const [path, text] of shippedTexts('.lua')) {
      for (const [, include] of text.matchAll(/^--- @include "([^"]+)"/gm)) {
        check(path, `./${include}`, ['']);
      }
    }
    expect(unresolved).toEqual([]);
  });

  it('stays a sane size', () => {
    // The core and its six optional integrations (lib/integrations/): 358 files, 936 kB unpacked
    // and 265 kB packed at 6feff4b. A stray folder (tests, source maps, dist of the bench) would
    // pass these bounds by far.
    expect(pack.entryCount).toBeLessThan(500);
    expect(pack.unpackedSize).toBeLessThan(1_300_000);
    expect(pack.size).toBeLessThan(350_000);
  });

  it('says where it lives and what it is for', () => {
    expect(manifest.repository).toEqual({
      type: 'git',
      url: expect.stringMatching(/^git\+https:/),
    });
    expect(manifest.homepage).toMatch(/^https:\/\//);
    expect(manifest.keywords).toEqual(expect.arrayContaining(['nestjs', 'redis', 'cron']));
  });
});
