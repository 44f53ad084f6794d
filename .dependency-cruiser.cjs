/**
 * The layering rules of docs/architecture.md, checked on the built JavaScript (dist/) by
 * tests/static/layers.test.ts: dist/ holds exactly the runtime imports. The same test reads every
 * import of the sources, type-only ones included, against the same layers and for cycles.
 *
 *   protocol/  the ground floor and the wire contract both products share: imports nothing of ours
 *   config/    imports protocol/
 *   drivers/   imports config/ and protocol/
 *   agent/     imports drivers/, config/ and protocol/   (the station)
 *   county/    imports protocol/ only                    (the county)
 *   scripts/   tools: may import anything
 */
/** Daemon internals stationctl must not load: it talks to the daemon through the control socket. */
const DAEMON_ONLY = [
  '^dist/agent/(app|main|supervisor|alerts|bus|commands|device-commands|systemd)\\.js$',
  '^dist/agent/control/server\\.js$',
  '^dist/agent/county/',
  '^dist/agent/sessions/(tracker|commands)\\.js$',
  '^dist/agent/scheduler/(scheduler|steps|commands)\\.js$',
];

const layer = (name, from, allowed, comment) => ({
  name,
  severity: 'error',
  comment,
  from: { path: `^dist/${from}/` },
  to: { path: '^dist/', pathNot: `^dist/(${[from, ...allowed].join('|')})/` },
});

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'No import cycle anywhere.', from: {}, to: { circular: true } },
    layer('protocol-is-the-ground-floor', 'protocol', [], 'protocol/ (errors, checksums, faults, the device vocabulary, the wire contract) imports nothing of ours.'),
    layer('config-over-protocol', 'config', ['protocol'], 'config/ imports only protocol/.'),
    layer('drivers-over-config', 'drivers', ['config', 'protocol'], 'Drivers never import the daemon, the county or the scripts.'),
    layer('agent-is-the-station', 'agent', ['drivers', 'config', 'protocol'], 'The station (daemon and stationctl) never imports the county or the scripts.'),
    layer('county-meets-the-station-only-in-protocol', 'county', ['protocol'], 'The county never imports agent/, drivers/ or config/: both sides meet only in protocol/.'),
    {
      name: 'drivers-no-mqtt-no-sqlite',
      severity: 'error',
      comment: 'Drivers never open MQTT or SQLite (docs/design.md §3).',
      from: { path: '^dist/drivers/' },
      to: { path: 'node_modules/(mqtt|better-sqlite3)/' },
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
        'The store owns all SQL: only agent/store/store.js opens the station database (its repositories get the connection from it) and the county\'s SQLite store (behind CollectorStore) opens its own; the footprint floor only loads the module.',
      from: { path: '^dist/', pathNot: '^dist/(agent/store/store\\.js$|county/sqlite-store\\.js$|scripts/bench/floor\\.js$)' },
      to: { path: 'node_modules/better-sqlite3/' },
    },
    {
      name: 'county-mqtt-only-in-mqtt-connection',
      severity: 'error',
      comment: 'Within the county link only the MQTT connection (agent/county/mqtt-connection.ts) uses mqtt.js; the lanes publish through it.',
      from: { path: '^dist/agent/county/', pathNot: '^dist/agent/county/mqtt-connection\\.js$' },
      to: { path: 'node_modules/mqtt/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    includeOnly: '^(dist/|node_modules/(mqtt|better-sqlite3)/)',
    exclude: { path: '(\\.map$|^dist/county/console/static/)' },
    moduleSystems: ['es6', 'cjs'],
  },
};
