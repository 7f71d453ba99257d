import { join } from 'node:path';
import {
  buildImportGraph,
  findCycles,
  ImportEdge,
  readModuleReferences,
} from '../../support/import-graph';

/**
 * The layers of lib/, top to bottom (issue 9: module/public API → scheduler → engine →
 * redis/time, and the discovery layer only hands handlers to the engine).
 *
 * Each file belongs to a unit (a folder, or one file at the root of lib/) and each unit to a
 * layer. A file imports from its own unit or from a lower layer; units of one layer do not import
 * each other, except in an `open` layer (the module's own files; the shared leaves). `import type`
 * counts: the rule is about the structure a reader has to hold in mind, not only about what loads.
 */
interface Layer {
  name: string;
  units: string[];
  open?: boolean;
}

const LAYERS: Layer[] = [
  // Optional integrations (admin, http, postgres, terminus, prometheus, opentelemetry, event-emitter), each
  // behind its own subpath export and optional peer dependency: they use the public API (index.ts)
  // only (see INTEGRATIONS); nothing in the core imports them.
  { name: 'integrations', units: ['integrations/'] },
  {
    name: 'module / public API',
    open: true,
    units: ['index.ts', 'redis-scheduler.module.ts', 'redis-scheduler.options.ts'],
  },
  // With a durable store (issue 12): keeps Redis matching the store, through the services.
  { name: 'store reconciliation', units: ['reconcile/'] },
  // The injectable services of the public API: schedule CRUD and its validation, locks.
  // (monitor/: the read-only view of the engine that health checks and metrics use.)
  { name: 'services', units: ['scheduler/', 'lock/', 'monitor/'] },
  // Claims, runs, leases, the pod registry, schedule storage and the boot-time static sync.
  { name: 'engine', units: ['engine/'] },
  // Finds decorated methods and fills the handler registry the engine reads.
  { name: 'discovery', units: ['discovery/'] },
  // Keys, identifiers, scripts and the connection.
  { name: 'redis protocol', units: ['redis/'] },
  // The schedule policy, pure: validation, storage encoding, resolution, retry delay.
  { name: 'schedule policy', units: ['policy/'] },
  // Cron, jitter, timers and Redis's clock as seen from the pod.
  { name: 'time', units: ['time/'] },
  {
    name: 'shared leaves',
    open: true,
    units: [
      'interfaces/',
      'errors/',
      'events/',
      'decorators/',
      'redis-scheduler.constants.ts',
      'redis-scheduler.messages.ts',
      'redis-scheduler.module-definition.ts',
    ],
  },
];

/**
 * A unit listed here is reached from other units only through these files. The module (top layer)
 * is exempt: it registers every provider. The engine and the services read the handler registry;
 * nothing calls the explorer or the metadata accessor.
 */
const ENTRY_FILES: Record<string, string[]> = {
  'discovery/': ['discovery/handler.registry.ts'],
};

const LIB = join(__dirname, '../../../lib');

/** The layer of the module's own files, which may reach any file of a lower layer. */
const MODULE_LAYER = LAYERS.findIndex((layer) => layer.name === 'module / public API');
const INTEGRATIONS = LAYERS[0].units;

function unitOf(file: string): string {
  const slash = file.indexOf('/');
  return slash === -1 ? file : file.slice(0, slash + 1);
}

function layerOf(unit: string): number {
  return LAYERS.findIndex((layer) => layer.units.includes(unit));
}

/** Why an edge breaks the layering, or undefined when it does not. */
function violation(edge: ImportEdge): string | undefined {
  const [fromUnit, toUnit] = [unitOf(edge.from), unitOf(edge.to)];
  if (fromUnit === toUnit) return undefined;
  if (INTEGRATIONS.includes(fromUnit) && edge.to !== 'index.ts') {
    return `${fromUnit} is an integration: it imports the core only through lib/index.ts`;
  }
  const [from, to] = [layerOf(fromUnit), layerOf(toUnit)];
  const name = (i: number): string => LAYERS[i].name;
  if (to < from) return `${name(from)} must not import ${name(to)}, a layer above it`;
  if (to === from && !LAYERS[from].open) {
    return `${fromUnit} and ${toUnit} are both ${name(from)}: neither imports the other`;
  }
  const entries = ENTRY_FILES[toUnit];
  if (entries && from !== MODULE_LAYER && !entries.includes(edge.to)) {
    return `${toUnit} is reached only through ${entries.join(', ')}`;
  }
  return undefined;
}

const describeEdge = (e: ImportEdge): string =>
  `lib/${e.from}:${e.line} → lib/${e.to}${e.typeOnly ? ' (type only)' : ''}`;

const describeCycle = (cycle: string[]): string => cycle.map((node) => `lib/${node}`).join(' → ');

describe('import layers of lib/', () => {
  const graph = buildImportGraph(LIB);

  it('sees every import: each relative specifier names a file, and the graph is not empty', () => {
    expect(graph.unresolved).toEqual([]);
    expect(graph.files.length).toBeGreaterThan(40);
    // Reached only by `export ... from` and by `import type`, respectively.
    expect(graph.edges).toContainEqual(
      expect.objectContaining({ from: 'index.ts', to: 'redis-scheduler.module.ts' }),
    );
    expect(graph.edges).toContainEqual(
      expect.objectContaining({
        from: 'interfaces/schedule.interface.ts',
        to: 'interfaces/schedule-policy.interface.ts',
        typeOnly: true,
      }),
    );
  });

  it('places every file of lib/ in a layer', () => {
    const unplaced = [...new Set(graph.files.map(unitOf))].filter((u) => layerOf(u) === -1);
    if (unplaced.length > 0) {
      throw new Error(`Add to LAYERS in this spec (decide their layer): ${unplaced.join(', ')}`);
    }
  });

  it('has no file-level import cycle', () => {
    const groups = findCycles(graph.files, graph.edges);
    if (groups.length > 0) {
      const cycles = groups.flatMap((g) => g.cycles.map((c) => `  ${describeCycle(c)}`));
      throw new Error(`Import cycles between files of lib/:\n${cycles.join('\n')}`);
    }
  });

  it('has no folder-level import cycle', () => {
    const units = [...new Set(graph.files.map(unitOf))];
    const crossing = graph.edges.filter((e) => unitOf(e.from) !== unitOf(e.to));
    const groups = findCycles(
      units,
      crossing.map((e) => ({ from: unitOf(e.from), to: unitOf(e.to) })),
    );
    if (groups.length > 0) {
      const report = groups.map((group) => {
        const inGroup = (file: string): boolean => group.members.includes(unitOf(file));
        const through = crossing.filter((e) => inGroup(e.from) && inGroup(e.to));
        return [
          ...group.cycles.map((c) => `  ${describeCycle(c)}`),
          '    through:',
          ...through.map((e) => `      ${describeEdge(e)}`),
        ].join('\n');
      });
      throw new Error(`Import cycles between folders of lib/:\n${report.join('\n')}`);
    }
  });

  it('imports only downwards (and into discovery/ only through the handler registry)', () => {
    const offending = graph.edges.flatMap((edge) => {
      const why = violation(edge);
      return why === undefined ? [] : [`  ${describeEdge(edge)}: ${why}`];
    });
    if (offending.length > 0) {
      throw new Error(
        `${offending.length} import(s) against the layers of lib/:\n${offending.join('\n')}`,
      );
    }
  });
});

describe('the optional integrations in lib/integrations/', () => {
  const graph = buildImportGraph(LIB);
  const integrationOf = (file: string): string | undefined =>
    file.startsWith('integrations/') ? file.split('/')[1] : undefined;

  it('exist, one folder per subpath export, each with an index.ts', () => {
    const folders = [...new Set(graph.files.map(integrationOf).filter(Boolean))].sort();
    expect(folders).toEqual([
      'admin',
      'event-emitter',
      'http',
      'opentelemetry',
      'postgres',
      'prometheus',
      'terminus',
    ]);
    for (const folder of folders) expect(graph.files).toContain(`integrations/${folder}/index.ts`);
  });

  it('import the core only through its public API (index.ts), and not each other', () => {
    const offending = graph.edges.filter((e) => {
      const from = integrationOf(e.from);
      if (from === undefined) return false;
      return integrationOf(e.to) !== from && e.to !== 'index.ts';
    });
    expect(offending.map(describeEdge)).toEqual([]);
    // And the core imports none of them.
    const intoIntegrations = graph.edges.filter(
      (e) => integrationOf(e.to) !== undefined && integrationOf(e.from) === undefined,
    );
    expect(intoIntegrations.map(describeEdge)).toEqual([]);
  });
});

describe('the import walker', () => {
  it('reads every kind of module reference, and marks the type-only ones', () => {
    const refs = readModuleReferences(
      'fixture.ts',
      [
        "import { a } from './a';",
        "import type { B } from './b';",
        "import { type C, type D } from './c';",
        "import { type E, f } from './e';",
        "import './side-effect';",
        "export { g } from './g';",
        "export type { H } from './h';",
        "export * from './star';",
        "import i = require('./i');",
        "const j = require('./j');",
        "const k = () => import('./k');",
        "type L = import('./l').L;",
        "import { m } from '@nestjs/common';",
      ].join('\n'),
    );
    expect(refs.map((r) => [r.specifier, r.line, r.typeOnly])).toEqual([
      ['./a', 1, false],
      ['./b', 2, true],
      ['./c', 3, true],
      ['./e', 4, false],
      ['./side-effect', 5, false],
      ['./g', 6, false],
      ['./h', 7, true],
      ['./star', 8, false],
      ['./i', 9, false],
      ['./j', 10, false],
      ['./k', 11, false],
      ['./l', 12, true],
      ['@nestjs/common', 13, false],
    ]);
  });

  it('groups cycles by strongly connected nodes, with the shortest cycle through each', () => {
    const edges = [
      { from: 'a', to: 'b' },
      { from: 'b', to: 'c' },
      { from: 'c', to: 'a' },
      { from: 'c', to: 'b' },
      { from: 'd', to: 'd' },
      { from: 'e', to: 'a' },
    ];
    expect(findCycles(['a', 'b', 'c', 'd', 'e'], edges)).toEqual([
      {
        members: ['a', 'b', 'c'],
        cycles: [
          ['a', 'b', 'c', 'a'],
          ['b', 'c', 'b'],
        ],
      },
      { members: ['d'], cycles: [['d', 'd']] },
    ]);
    expect(findCycles(['a', 'b'], [{ from: 'a', to: 'b' }])).toEqual([]);
  });
});
