import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadScripts } from '../../../lib/redis/script-loader';

describe('loadScripts', () => {
  it('loads every script with its key count and a content-derived command name', () => {
    const scripts = loadScripts();
    expect([...scripts.keys()].sort()).toEqual(
      [
        'acquireLock',
        'claimDue',
        'clearDeadLetters',
        'completeRuns',
        'confirmRuns',
        'declareStatic',
        'detachRuns',
        'extendLeases',
        'extendLock',
        'heartbeat',
        'pauseTenant',
        'releaseLock',
        'releaseRuns',
        'removeSchedule',
        'removeTenant',
        'resumeTenant',
        'retargetRuns',
        'setEnabled',
        'triggerRun',
        'upsertSchedules',
      ].sort(),
    );
    expect(scripts.get('claimDue')).toMatchObject({ numberOfKeys: 4 });
    expect(scripts.get('claimDue')!.command).toMatch(/^rsched_claimDue_[0-9a-f]{10}$/);
  });

  it('inlines includes', () => {
    const claim = loadScripts().get('claimDue')!.lua;
    expect(claim).not.toContain('@include');
    expect(claim).toContain('local function nowMs()');
  });

  it('fails loudly when no script is found', () => {
    const empty = mkdtempSync(join(tmpdir(), 'rsched-'));
    expect(() => loadScripts(empty)).toThrow(/No Lua scripts found/);
  });

  it('rejects include cycles', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rsched-'));
    mkdirSync(join(dir, 'includes'));
    writeFileSync(join(dir, 'includes', 'a.lua'), '--- @include "a.lua"\n');
    writeFileSync(join(dir, 'loop-1.lua'), '--- @include "includes/a.lua"\n');
    expect(() => loadScripts(dir)).toThrow(/cycle/);
  });
});
