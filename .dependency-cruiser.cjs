/**
 * Who may import whom (docs/architecture.md). Checked by
 * test/internals/architecture.test.ts as part of `npm test`, type-only imports included.
 */
/** The domain modules: they speak to stations through ports, never through the transport or the command line. */
const DOMAIN = '^src/(api|assess|firmware|grid|intel|meters|monitor|stations|transactions|trust)/';

module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      comment: 'An import cycle, type-only ones included, means two files cannot be understood apart.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'cli-is-the-root',
      comment: 'src/cli is the root program; modules share src/cli-kit.ts instead.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/cli/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'domain-not-transport',
      comment: 'Domain modules send to stations through the StationCommands port; only the composition root binds the transport.',
      severity: 'error',
      from: { path: DOMAIN },
      to: { path: '^src/ocpp/' },
    },
    {
      name: 'tables-have-one-owner',
      comment: "A module's store.ts is its tables: other modules use its API or its events.",
      severity: 'error',
      from: { path: '^src/([^/]+)/' },
      to: { path: '^src/[^/]+/store\\.ts$', pathNot: '^src/$1/store\\.ts$' },
    },
    {
      name: 'typed-tables-in-stores',
      comment: "The shared database handle knows no tables; only a module's store.ts takes a typed view of its own (src/store/tables.ts), so SQL has nowhere else to live.",
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/[^/]+/store\\.ts$', '^src/store/'] },
      to: { path: '^src/store/tables\\.ts$' },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    // TypeScript 7 has no JavaScript API for dependency-cruiser to parse with; swc reads the sources as written.
    parser: 'swc',
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist)/' },
  },
};
