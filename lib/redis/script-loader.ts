import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** A Lua script ready for ioredis `defineCommand`. */
export interface LoadedScript {
  /** camelName from the file name `<camelName>-<numKeys>.lua`. */
  name: string;
  /** Command name, unique per script content: `rsched_<name>_<sha1 prefix>`. */
  command: string;
  numberOfKeys: number;
  lua: string;
}

const INCLUDE = /^--- @include "([^"]+)"\s*$/gm;
const FILE = /^([A-Za-z]+)-(\d+)\.lua$/;

/** Default place of the scripts: next to this file, in both lib/ (ts-jest) and dist/ (build). */
export const SCRIPTS_DIR = join(__dirname, 'scripts');

let cached: Map<string, LoadedScript> | undefined;

/** Reads every `<name>-<numKeys>.lua` in `dir`, inlining `--- @include "file"` lines. */
export function loadScripts(dir = SCRIPTS_DIR): Map<string, LoadedScript> {
  if (dir === SCRIPTS_DIR && cached) return cached;
  const scripts = new Map<string, LoadedScript>();
  for (const file of readdirSync(dir)) {
    const match = FILE.exec(file);
    if (!match) continue;
    const lua = inline(join(dir, file), new Set());
    const digest = createHash('sha1').update(lua).digest('hex').slice(0, 10);
    scripts.set(match[1], {
      name: match[1],
      command: `rsched_${match[1]}_${digest}`,
      numberOfKeys: Number(match[2]),
      lua,
    });
  }
  if (scripts.size === 0) {
    throw new Error(
      `No Lua scripts found in ${dir}: the build must copy lib/redis/scripts/*.lua (nest-cli.json assets).`,
    );
  }
  if (dir === SCRIPTS_DIR) cached = scripts;
  return scripts;
}

function inline(path: string, seen: Set<string>): string {
  if (seen.has(path)) throw new Error(`Lua include cycle at ${basename(path)}`);
  seen.add(path);
  return readFileSync(path, 'utf8').replace(INCLUDE, (_line, file: string) =>
    inline(join(dirname(path), file), new Set(seen)),
  );
}
