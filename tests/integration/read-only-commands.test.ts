/**
 * `stationctl config check` and `doctor` cannot ask the daemon's command registry which county commands
 * change the station, so config/warnings.ts keeps the list of read-only ones; the agent itself decides
 * by the registry's `readOnly` flags. Here the whole daemon (App, with a county section) is started
 * in-process on a temporary folder, and the two must agree on every registered command.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { App } from '../../agent/app.js';
import { systemClock } from '../../agent/clock.js';
import { silentLogger } from '../../agent/log.js';
import { ConfigSchema } from '../../config/schema.js';
import { READ_ONLY_COMMANDS } from '../../config/warnings.js';
import { freePort, removeDir, tempDir } from '../../scripts/lib/kit/index.js';

describe('read-only county commands', () => {
  it('config/warnings.ts lists exactly the commands the daemon registers as read-only', async () => {
    const dir = tempDir('read-only-');
    const port = await freePort();
    const config = ConfigSchema.parse({
      station: { id: 'village-01', name: '站点' },
      data_dir: join(dir, 'data'),
      control: { socket: join(dir, 'ctl.sock') },
      // Nothing listens there: the link starts and keeps retrying in the background.
      county: { url: `mqtt://127.0.0.1:${port}`, allowed_commands: ['diag.run'] },
    });
    const app = new App({ config, log: silentLogger, clock: systemClock() });
    try {
      await app.start();
      const commands = app.registry.list();
      expect(commands.length).toBeGreaterThan(10);
      expect(commands.filter((c) => c.readOnly).map((c) => c.name).sort()).toEqual([...READ_ONLY_COMMANDS].sort());
      // And the ones that change the station are what the warnings name.
      expect(commands.filter((c) => !c.readOnly).map((c) => c.name)).toEqual(expect.arrayContaining(['device.power', 'schedule.set', 'schedule.run', 'session.note']));
    } finally {
      await app.stop();
      removeDir(dir);
    }
  });
});
