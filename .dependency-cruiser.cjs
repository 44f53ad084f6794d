/**
 * The layering rules of docs/architecture.md, checked on the built JavaScript (dist/) by
 * tests/static/layers.test.ts. dist/ holds exactly the runtime imports: `import type` is erased by
 * tsc, so "config imports only drivers' types" means no runtime import from config/ into drivers/
 * other than the base layer. Type-only imports across layers are checked on the sources by the same test.
 */
/** Daemon internals stationctl must not load: it talks to the daemon through the control socket. */
const DAEMON_ONLY = [
  '^dist/agent/(app|main|supervisor|alerts|bus|commands|device-commands|systemd)\\.js$',
  '^dist/agent/control/server\\.js$',
  '^dist/agent/county/(?!payloads\\.js$|topics\\.js$|signing\\.js$)',
  '^dist/agent/sessions/(tracker|commands)\\.js$',
  '^dist/agent/scheduler/(scheduler|steps|commands)\\.js$',
];

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'No import cycle anywhere.', from: {}, to: { circular: true } },
    {
      name: 'base-layer-imports-nothing',
      severity: 'error',
      comment: 'The base layer (drivers/errors.js, drivers/checksum.js): everything may import it, it imports nothing of ours.',
      from: { path: '^dist/drivers/(errors|checksum)\\.js$' },
      to: { path: '^dist/' },
    },
    {
      name: 'drivers-not-up',
      severity: 'error',
      comment: 'Drivers never import the daemon or the scripts.',
      from: { path: '^dist/drivers/' },
      to: { path: '^dist/(agent|scripts)/' },
    },
    {
      name: 'drivers-no-mqtt-no-sqlite',
      severity: 'error',
      comment: 'Drivers never open MQTT or SQLite (docs/design.md §3).',
      from: { path: '^dist/drivers/' },
      to: { path: 'node_modules/(mqtt|better-sqlite3)/' },
    },
    {
      name: 'config-only-driver-types',
      severity: 'error',
      comment: 'config/ imports only the drivers\' types (drivers/types.js) and the base layer (errors, checksum).',
      from: { path: '^dist/config/' },
      to: { path: '^dist/drivers/', pathNot: '^dist/drivers/(types|errors|checksum)\\.js$' },
    },
    {
      name: 'config-not-up',
      severity: 'error',
      comment: 'config/ never imports the daemon or the scripts.',
      from: { path: '^dist/config/' },
      to: { path: '^dist/(agent|scripts)/' },
    },
    {
      name: 'agent-not-scripts',
      severity: 'error',
      comment: 'The daemon and stationctl never import the scripts (simulators, county side, bench).',
      from: { path: '^dist/agent/' },
      to: { path: '^dist/scripts/' },
    },
    {
      name: 'cli-only-through-socket-or-store',
      severity: 'error',
      comment: 'stationctl reaches the daemon only through the control socket, or reads the store read-only.',
      from: { path: '^dist/agent/cli/' },
      to: { path: DAEMON_ONLY },
    },
    {
      name: 'sql-only-in-stores',
      severity: 'error',
      comment:
        'The store owns all SQL: only agent/store/store.js opens the station database (its repositories get the connection from it) and the county collector\'s SQLite store (behind CollectorStore) opens its own; the footprint floor only loads the module.',
      from: { path: '^dist/', pathNot: '^dist/(agent/store/store\\.js$|scripts/county/sqlite-store\\.js$|scripts/bench/floor\\.js$)' },
      to: { path: 'node_modules/better-sqlite3/' },
    },
    {
      name: 'county-mqtt-only-in-session',
      severity: 'error',
      comment: 'Within the county link only the MQTT session (agent/county/session.ts) uses mqtt.js; the lanes publish through it.',
      from: { path: '^dist/agent/county/', pathNot: '^dist/agent/county/session\\.js$' },
      to: { path: 'node_modules/mqtt/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    includeOnly: '^(dist/|node_modules/(mqtt|better-sqlite3)/)',
    exclude: { path: '\\.map$' },
    moduleSystems: ['es6', 'cjs'],
  },
};
