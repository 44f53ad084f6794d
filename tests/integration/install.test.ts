import { describe, it, expect, afterEach } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, removeDir } from '../../scripts/lib/kit/index.js';
import { ROOT } from '../helpers/agent.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach(removeDir));

function install(root: string): string {
  return execFileSync('bash', [join(ROOT, 'scripts', 'install.sh'), '--root', root, '--no-start'], {
    env: { ...process.env, SKIP_NPM: '1' },
    encoding: 'utf8',
  });
}

describe('install.sh', () => {
  it('installs code, unit, helpers and an example config, and is idempotent', () => {
    const root = tempDir('install-');
    dirs.push(root);
    install(root);
    const unit = readFileSync(join(root, 'etc/systemd/system/station-agent.service'), 'utf8');
    expect(unit).toContain('ExecStart=/usr/bin/node --max-semi-space-size=1 --v8-pool-size=1 --no-opt --no-maglev /opt/station-agent/dist/agent/main.js --config /etc/station-agent/config.yaml');
    expect(existsSync(join(root, 'opt/station-agent/agent/main.ts'))).toBe(true);
    expect(existsSync(join(root, 'usr/lib/sysusers.d/station-agent.conf'))).toBe(true);
    const cfg = join(root, 'etc/station-agent/config.yaml');
    expect(readFileSync(cfg, 'utf8')).toContain('station:');
    expect(statSync(cfg).mode & 0o777).toBe(0o640);
    expect(statSync(join(root, 'usr/local/bin/stationctl')).mode & 0o111).toBeTruthy();

    // A technician's edits survive a re-install (upgrade).
    writeFileSync(cfg, 'station: { id: edited, name: Edited }\n');
    const second = install(root);
    expect(second).toContain('keeping existing /etc/station-agent/config.yaml');
    expect(readFileSync(cfg, 'utf8')).toBe('station: { id: edited, name: Edited }\n');
  });
});

describe('systemd unit', () => {
  const unit = readFileSync(join(ROOT, 'systemd', 'station-agent.service'), 'utf8');
  const directives = new Map<string, string[]>();
  for (const line of unit.split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (m) directives.set(m[1]!, [...(directives.get(m[1]!) ?? []), m[2]!]);
  }
  it.each([
    ['Type', 'notify'],
    ['Restart', 'on-failure'],
    ['RestartPreventExitStatus', '78'],
    ['SupplementaryGroups', 'dialout'],
    ['StateDirectory', 'station-agent'],
    ['RuntimeDirectory', 'station-agent'],
    ['ConfigurationDirectory', 'station-agent'],
    ['NoNewPrivileges', 'yes'],
    ['ProtectSystem', 'strict'],
    ['ProtectHome', 'yes'],
    ['PrivateTmp', 'yes'],
  ])('sets %s=%s', (key, value) => {
    expect(directives.get(key)).toEqual([value]);
  });
  it('has a watchdog and a dedicated user', () => {
    expect(Number(directives.get('WatchdogSec')?.[0])).toBeGreaterThan(0);
    expect(directives.get('User')).toEqual(['station-agent']);
  });
});
