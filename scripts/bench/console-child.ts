/**
 * The county console in its own process for the benchmarks, so its RSS is its own: opens the database,
 * listens on a free loopback port and prints `{"url": …}` once; closes on SIGTERM.
 *
 *   node dist/scripts/bench/console-child.js --db county.db|postgres://… --users FILE
 */
import { parseArgs } from 'node:util';
import { AccountFile } from '../../county/console/accounts.js';
import { openCollectorStore } from '../../county/open-store.js';
import { startConsole } from '../../county/console/server.js';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { db: { type: 'string' }, users: { type: 'string' } } });
  if (!values.db || !values.users) throw new Error('--db and --users are required');
  const store = await openCollectorStore(values.db);
  const server = await startConsole({ store, accounts: new AccountFile(values.users), port: 0 });
  process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
  process.once('SIGTERM', () => {
    void server
      .close()
      .then(() => store.close())
      .then(() => process.exit(0));
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`console-child: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
