// Enforces the one-way folder dependencies of DESIGN.md §1:
//   cli ─┬─> api ──> runtime ──> checkpoint ──> state ──> lsm
//        └─> web          │            │
//                         └────────────┴──> storage        (all may use util)
//   connectors ──> api
//   testing ──> api, connectors, runtime, state, storage   (weir/testing)
// A rule here fails `npm run lint` (and so `npm test`).
const layer = (from, allowed) => ({
  name: `${from}-only-depends-on-${allowed.join('-') || 'nothing'}`,
  severity: 'error',
  from: { path: `^src/${from}/` },
  to: {
    path: '^src/',
    pathNot: [`^src/${from}/`, '^src/util/', ...allowed.map((a) => `^src/${a}/`)],
  },
});

module.exports = {
  forbidden: [
    layer('util', []),
    layer('lsm', []),
    layer('storage', []),
    layer('state', ['lsm', 'storage']),
    layer('checkpoint', ['state', 'storage']),
    layer('runtime', ['checkpoint', 'state', 'storage']),
    layer('api', ['runtime', 'checkpoint', 'state', 'storage']),
    layer('connectors', ['api']),
    layer('web', ['api', 'runtime', 'checkpoint', 'state', 'storage']),
    layer('cli', ['api', 'web', 'runtime', 'checkpoint', 'state', 'storage', 'connectors']),
    layer('testing', ['api', 'connectors', 'runtime', 'state', 'storage']),
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      // A cycle closed only by `import type` has no run-time effect (e.g. ConnectedStreams
      // returns DataStream, whose connect() builds a ConnectedStreams): allowed.
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.js'] },
  },
};
