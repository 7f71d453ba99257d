'use strict';

/**
 * Fails (exit 1) unless the running Node.js satisfies package.json `engines.node`. .ci/run calls
 * it first, before `npm ci`, so it needs nothing installed: it reads the small range syntax
 * package.json uses (`||` between alternatives, space-separated comparators `>=`, `>`, `<=`, `<`,
 * `=`, `^`, `~` on `X.Y.Z` versions, `X.Y` and `X` after `>=` and `<`) and throws on anything
 * else rather than guess.
 * test/package/engines.spec.ts checks both this reader and that the range is true.
 */
const fs = require('node:fs');
const path = require('node:path');

const COMPARATOR = /^(>=|<=|>|<|=|\^|~)?v?(\d+)(?:\.(\d+)(?:\.(\d+))?)?$/;

function parseVersion(version) {
  const match = /^v?(\d+)\.(\d+)\.(\d+)(?:[-+].*)?$/.exec(version);
  if (!match) throw new Error(`not a version: "${version}"`);
  return match.slice(1, 4).map(Number);
}

function compare(a, b) {
  for (let i = 0; i < 3; i += 1) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  return 0;
}

/** The upper bound (exclusive) of `^v` and `~v`, as semver defines them. */
function upperBound(op, [major, minor, patch]) {
  if (op === '~' || (op === '^' && major === 0 && minor > 0)) return [major, minor + 1, 0];
  if (op === '^' && major === 0) return [0, 0, patch + 1];
  return [major + 1, 0, 0];
}

/** Reads one comparator into a test of a parsed version; throws on what it cannot read. */
function comparatorTest(comparator, range) {
  const match = COMPARATOR.exec(comparator);
  const op = (match && match[1]) || '=';
  // `>=20.11` is `>=20.11.0` and `<21` is `<21.0.0`; for the other operators a partial version
  // means something else in semver (`^0` is `<1.0.0`), so it is refused.
  const partial = match && match[4] === undefined;
  if (!match || (partial && op !== '>=' && op !== '<')) {
    throw new Error(
      `cannot read "${comparator}" in the range "${range}": write X.Y.Z versions with ` +
        '>=, >, <=, <, =, ^ or ~ (X or X.Y only after >= and <), joined by spaces and ||',
    );
  }
  const bound = match.slice(2, 5).map((part) => Number(part || 0));
  switch (op) {
    case '>=':
      return (version) => compare(version, bound) >= 0;
    case '>':
      return (version) => compare(version, bound) > 0;
    case '<=':
      return (version) => compare(version, bound) <= 0;
    case '<':
      return (version) => compare(version, bound) < 0;
    case '=':
      return (version) => compare(version, bound) === 0;
    default:
      return (version) =>
        compare(version, bound) >= 0 && compare(version, upperBound(op, bound)) < 0;
  }
}

/** True when `version` (e.g. process.version) is in `range` (e.g. "^20.19.0 || >=22.12.0"). */
function satisfies(version, range) {
  const parsed = parseVersion(version);
  const alternatives = range.split('||').map((alternative) =>
    alternative
      .trim()
      .split(/\s+/)
      .map((c) => comparatorTest(c, range)),
  );
  return alternatives.some((tests) => tests.every((test) => test(parsed)));
}

function main() {
  const pkgFile = path.join(__dirname, '..', 'package.json');
  const range = JSON.parse(fs.readFileSync(pkgFile, 'utf8')).engines.node;
  if (satisfies(process.version, range)) {
    console.log(`ci: node ${process.version} satisfies engines.node "${range}"`);
    return;
  }
  console.error(
    `ci: FAILED: node ${process.version} does not satisfy package.json engines.node "${range}". ` +
      'Nest 12 is ESM and this CommonJS library loads it with require(esm), which Node enables ' +
      'by default from 20.19.0 and 22.12.0: run CI on a Node version in that range.',
  );
  process.exitCode = 1;
}

if (require.main === module) main();

module.exports = { satisfies };
