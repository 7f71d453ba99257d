import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import * as ts from 'typescript';

/** One module reference found in a source file, as written. */
export interface ModuleReference {
  specifier: string;
  /** 1-based line of the statement or call. */
  line: number;
  /** `import type`, `export type`, or an import whose every named binding is `type`. */
  typeOnly: boolean;
}

/** A reference from one file of the tree to another (paths relative to the root, with '/'). */
export interface ImportEdge extends ModuleReference {
  from: string;
  to: string;
}

export interface ImportGraph {
  /** Every .ts file under the root (relative paths, sorted). */
  files: string[];
  edges: ImportEdge[];
  /** Relative specifiers that name no file: the walker would miss what they import. */
  unresolved: (ModuleReference & { from: string })[];
}

/**
 * Every module reference in a TypeScript source, parsed with TypeScript's own parser: import and
 * export ... from (type-only included), `import x = require()`, `require()`, dynamic `import()`
 * and `import('...')` types.
 */
export function readModuleReferences(fileName: string, text: string): ModuleReference[] {
  const source = ts.createSourceFile(
    fileName,
    text,
    ts.ScriptTarget.Latest,
    true,
    ts.ScriptKind.TS,
  );
  const found: ModuleReference[] = [];
  const add = (node: ts.Node, literal: ts.Expression | undefined, typeOnly: boolean): void => {
    if (!literal || !ts.isStringLiteralLike(literal)) return;
    const line = source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
    found.push({ specifier: literal.text, line, typeOnly });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      add(node, node.moduleSpecifier, importIsTypeOnly(node));
    } else if (ts.isExportDeclaration(node)) {
      add(node, node.moduleSpecifier, node.isTypeOnly || exportIsTypeOnly(node));
    } else if (
      ts.isImportEqualsDeclaration(node) &&
      ts.isExternalModuleReference(node.moduleReference)
    ) {
      add(node, node.moduleReference.expression, node.isTypeOnly);
    } else if (ts.isCallExpression(node) && node.arguments.length > 0) {
      const callee = node.expression;
      const isRequire = ts.isIdentifier(callee) && callee.text === 'require';
      if (isRequire || callee.kind === ts.SyntaxKind.ImportKeyword) {
        add(node, node.arguments[0], false);
      }
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node, node.argument.literal, true);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

function importIsTypeOnly(node: ts.ImportDeclaration): boolean {
  const clause = node.importClause;
  if (!clause) return false; // `import './x'` runs the module
  if (clause.isTypeOnly) return true;
  if (clause.name) return false;
  const bindings = clause.namedBindings;
  return (
    bindings !== undefined &&
    ts.isNamedImports(bindings) &&
    bindings.elements.length > 0 &&
    bindings.elements.every((e) => e.isTypeOnly)
  );
}

function exportIsTypeOnly(node: ts.ExportDeclaration): boolean {
  const clause = node.exportClause;
  return (
    clause !== undefined &&
    ts.isNamedExports(clause) &&
    clause.elements.length > 0 &&
    clause.elements.every((e) => e.isTypeOnly)
  );
}

/** Every .ts file under `dir`, recursively (absolute paths, sorted). */
export function listTsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listTsFiles(path));
    else if (entry.isFile() && entry.name.endsWith('.ts')) out.push(path);
  }
  return out.sort();
}

const toPosix = (path: string): string => path.split(sep).join('/');

function resolveRelative(fromFile: string, specifier: string): string | undefined {
  const base = resolve(dirname(fromFile), specifier);
  const candidates = [`${base}.ts`, `${base}.d.ts`, join(base, 'index.ts'), base];
  return candidates.find((c) => existsSync(c) && statSync(c).isFile());
}

/**
 * The file-level import graph of the .ts files under `root`. Package imports are left out; a
 * relative import of a file outside the root, or of a non-.ts file, gives no edge.
 */
export function buildImportGraph(root: string): ImportGraph {
  const absolute = listTsFiles(root);
  const files = absolute.map((f) => toPosix(relative(root, f)));
  const known = new Set(files);
  const edges: ImportEdge[] = [];
  const unresolved: ImportGraph['unresolved'] = [];
  absolute.forEach((file, i) => {
    const from = files[i];
    for (const ref of readModuleReferences(file, readFileSync(file, 'utf8'))) {
      if (!ref.specifier.startsWith('.')) continue;
      const target = resolveRelative(file, ref.specifier);
      if (target === undefined) {
        unresolved.push({ ...ref, from });
        continue;
      }
      const to = toPosix(relative(root, target));
      if (known.has(to)) edges.push({ ...ref, from, to });
    }
  });
  return { files, edges, unresolved };
}

/** A strongly connected group of nodes and the shortest cycle through each of its members. */
export interface CycleGroup {
  members: string[];
  /** Each as [a, b, ..., a], without repeats (a cycle is listed once whatever its start). */
  cycles: string[][];
}

/**
 * The import cycles of a graph, grouped by strongly connected component (a file that imports
 * itself counts).
 */
export function findCycles(
  nodes: readonly string[],
  edges: readonly { from: string; to: string }[],
): CycleGroup[] {
  const next = new Map<string, Set<string>>(nodes.map((n) => [n, new Set<string>()]));
  for (const { from, to } of edges) next.get(from)?.add(to);
  return stronglyConnected(nodes, next)
    .filter((c) => c.length > 1 || next.get(c[0])?.has(c[0]))
    .map((members) => {
      const seen = new Set<string>();
      const cycles: string[][] = [];
      for (const member of members) {
        const cycle = shortestCycle(member, new Set(members), next);
        const ring = cycle.slice(1);
        const at = ring.indexOf([...ring].sort()[0]);
        const key = [...ring.slice(at), ...ring.slice(0, at)].join('\u0000');
        if (!seen.has(key)) {
          seen.add(key);
          cycles.push(cycle);
        }
      }
      return { members, cycles };
    });
}

/** Tarjan's algorithm. */
function stronglyConnected(nodes: readonly string[], next: Map<string, Set<string>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const connect = (node: string): void => {
    index.set(node, index.size);
    low.set(node, index.get(node) as number);
    stack.push(node);
    onStack.add(node);
    for (const to of next.get(node) ?? []) {
      if (!index.has(to)) {
        connect(to);
        low.set(node, Math.min(low.get(node) as number, low.get(to) as number));
      } else if (onStack.has(to)) {
        low.set(node, Math.min(low.get(node) as number, index.get(to) as number));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string | undefined;
      do {
        member = stack.pop() as string;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      components.push(component.sort());
    }
  };
  for (const node of nodes) if (!index.has(node)) connect(node);
  return components;
}

/** Breadth-first from `start` back to itself, inside its component. */
function shortestCycle(
  start: string,
  inside: Set<string>,
  next: Map<string, Set<string>>,
): string[] {
  const cameFrom = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const node = queue.shift() as string;
    for (const to of next.get(node) ?? []) {
      if (!inside.has(to)) continue;
      if (to === start) {
        const path = [node];
        while (path[0] !== start) path.unshift(cameFrom.get(path[0]) as string);
        return [...path, start];
      }
      if (!cameFrom.has(to)) {
        cameFrom.set(to, node);
        queue.push(to);
      }
    }
  }
  return [start]; // unreachable: every member of a component reaches every other
}
