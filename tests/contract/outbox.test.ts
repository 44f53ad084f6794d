/**
 * The Outbox conformance suite against both implementations: SqliteOutbox on a real SQLite file in a
 * temporary folder (removed after each test), and MemoryOutbox.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryOutbox } from '../../agent/store/memory-outbox.js';
import { Store } from '../../agent/store/store.js';
import { outboxContract } from './outbox.contract.js';

outboxContract(
  'SqliteOutbox',
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'outbox-contract-'));
    let store = Store.open(dir);
    return {
      outbox: store.outbox,
      reopen: () => {
        store.close();
        store = Store.open(dir);
        return store.outbox;
      },
      dispose: () => {
        store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
  { durable: true },
);

outboxContract('MemoryOutbox', () => ({ outbox: new MemoryOutbox(), dispose: () => undefined }), { durable: false });
