import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { KeySpace, runRecordMember } from '../../../lib/redis/key-space';
import { KEY_SUFFIX, RUN_RECORD_INFIX } from '../../../lib/redis/key-vocabulary';
import { loadScripts, SCRIPTS_DIR } from '../../../lib/redis/script-loader';

/*
 * One key vocabulary: the suffixes are spelled once in TypeScript (key-vocabulary.ts) and once in
 * Lua (scripts/includes/keys.lua), and these tests fail when the two disagree or when a script
 * spells a suffix itself.
 */

const KEYS_LUA = join(SCRIPTS_DIR, 'includes', 'keys.lua');

/** keys.lua's builders: `local function <name>(<a>[, <b>]) return <a> .. '<part>' [.. <b>] end`. */
function luaBuilders(): Map<string, string> {
  const text = readFileSync(KEYS_LUA, 'utf8');
  const builders = new Map<string, string>();
  const functions = [...text.matchAll(/^local function (\w+)\(/gm)].map(([, name]) => name);
  for (const m of text.matchAll(
    /^local function (\w+)\((\w+)(?:, (\w+))?\) return (\w+) \.\. '([^']*)'(?: \.\. (\w+))? end$/gm,
  )) {
    const [, name, first, second, head, part, tail] = m;
    // The first argument is what the part is appended to; the second, if any, comes after it.
    expect({ name, head, tail }).toEqual({ name, head: first, tail: second });
    builders.set(name, part);
  }
  // A builder in another shape would escape the checks below.
  expect(functions.sort()).toEqual([...builders.keys()].sort());
  return builders;
}

/** Every .lua file under the scripts folder, includes too, except keys.lua. */
function otherLuaFiles(dir = SCRIPTS_DIR): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return otherLuaFiles(path);
    return entry.name.endsWith('.lua') && path !== KEYS_LUA ? [path] : [];
  });
}

/** Lua source without its comments (a header or a note may name a builder). */
function withoutComments(lua: string): string {
  return lua.replace(/--\[\[[\s\S]*?\]\]/g, '').replace(/--[^\n]*/g, '');
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('key vocabulary', () => {
  it('keys.lua has one builder per TypeScript suffix, with the same suffix, and no other', () => {
    const builders = luaBuilders();
    const { runRecordMember: infix, ...suffixes } = Object.fromEntries(builders);
    expect(suffixes).toEqual(KEY_SUFFIX);
    expect(infix).toBe(RUN_RECORD_INFIX);
  });

  it('no other Lua file concatenates a suffix of its own', () => {
    const parts = [...Object.values(KEY_SUFFIX), RUN_RECORD_INFIX];
    const spelled: string[] = [];
    for (const file of otherLuaFiles()) {
      const text = readFileSync(file, 'utf8');
      for (const part of parts) {
        const literal = `['"]${escape(part)}['"]`;
        if (new RegExp(`\\.\\.\\s*${literal}|${literal}\\s*\\.\\.`).test(text)) {
          spelled.push(`${relative(SCRIPTS_DIR, file)}: '${part}'`);
        }
      }
    }
    expect(spelled).toEqual([]);
  });

  it('every script that calls a builder includes keys.lua before the call', () => {
    const names = [...luaBuilders().keys()];
    for (const script of loadScripts().values()) {
      const code = withoutComments(script.lua);
      for (const name of names) {
        const definition = code.indexOf(`local function ${name}(`);
        const call = new RegExp(`(?<!function )\\b${name}\\(`).exec(code);
        if (!call) continue;
        expect({ script: script.name, name, included: definition >= 0 }).toEqual({
          script: script.name,
          name,
          included: true,
        });
        expect(definition).toBeLessThan(call.index);
      }
    }
  });

  it('KeySpace builds the keys the Lua builders derive from the same partition base', () => {
    const ks = new KeySpace('rsched', 4);
    const keys = ks.dynamicSchedule('acme', 'weekly', 'report');
    const { base, member, partition } = keys;
    // What each Lua builder returns, read from keys.lua, for the arguments KeySpace was given.
    const lua = luaBuilders();
    const derive = (name: string, arg = '') => `${base}${lua.get(name)}${arg}`;
    expect(keys.hash).toBe(derive('scheduleHash', member));
    expect(ks.hashBase(partition)).toBe(derive('scheduleHash'));
    expect(keys.due).toBe(derive('dueIndex', keys.handlerKey));
    expect(ks.dueIndex(partition, 'c:x')).toBe(derive('dueIndex', 'c:x'));
    expect(ks.epochCounter(partition)).toBe(derive('epochCounter'));
    expect(ks.fenceCounter(partition)).toBe(derive('fenceCounter'));
    expect(ks.deadLetters(partition)).toBe(derive('deadLetters'));
    expect(ks.history(keys)).toBe(derive('history', member));
    expect(keys.tenantSet).toBe(derive('tenantSet', 'acme'));
    expect(ks.tenantSet('acme')).toBe(derive('tenantSet', 'acme'));
    expect(ks.detachedRuns(keys)).toBe(derive('detachedRuns', member));
    expect(ks.tenantIndex(partition)).toBe(derive('tenantIndex'));
    expect(ks.tenantPause('acme')).toBe(derive('tenantPause', 'acme'));
    expect(runRecordMember(member, 1_700_000_000_000)).toBe(
      `${member}${lua.get('runRecordMember')}1700000000000`,
    );
  });
});
