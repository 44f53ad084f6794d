/**
 * The whole tool as a new technician meets it: a running daemon with a simulated projector, then the
 * same station stopped. inventory (table, --csv, --json), status --watch, exit codes, and every human
 * output in Chinese within 80 columns.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { spawn } from 'node:child_process';
import stringWidth from 'string-width';
import { PjlinkSimulator } from '../../../scripts/sims/pjlink.js';
import { tempDir, removeDir, waitFor } from '../../../scripts/lib/kit/index.js';
import { writeConfig, ctl, startAgent, waitReady, CTL_JS, type RunningAgent } from '../../helpers/agent.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function station() {
  const sim = new PjlinkSimulator({ model: 'EB-X51' });
  await sim.start();
  cleanups.push(() => sim.stop());
  const dir = tempDir('station-');
  cleanups.push(() => removeDir(dir));
  const file = writeConfig(dir, {
    station: { id: 'test-station', name: '测试站点', town: '城关镇', county: '某县' },
    devices: [{ id: 'projector', name: '活动室投影机', kind: 'projector', driver: 'pjlink', host: '127.0.0.1', port: sim.port, poll_s: 1 }],
  });
  const agent: RunningAgent = startAgent(file);
  cleanups.push(() => agent.stop('SIGKILL'));
  await waitReady(agent, file);
  await waitFor(async () => {
    const r = await ctl(['--json', '--config', file, 'devices']);
    return r.code === 0 && (JSON.parse(r.stdout) as Array<{ model?: string | null }>)[0]?.model;
  }, 10_000, 100);
  return { sim, file, agent };
}

const ZH = { LANG: 'zh_CN.UTF-8' };

/** Chinese output may keep ids, paths, models, units and codes, but no English sentence words. */
function englishWords(text: string, hostFacts: readonly string[] = []): string[] {
  const allowed = /^(MQTT|TLS|LED|CSV|JSON|MB|GB|EB|X51|EPSON|Epson|pjlink|projector|test|station|SIM)$/i;
  // What the PC says of itself (OS name, CPU brand, maker) is shown as the machine reports it, in any language.
  for (const fact of hostFacts) if (fact.length > 1) text = text.split(fact).join(' ');
  return (text.replace(/\/[\w./:+-]*/g, '').replace(/[\w:.-]*\d[\w:.-]*/g, '').match(/[A-Za-z]{2,}/g) ?? []).filter((w) => !allowed.test(w));
}

/** Every string the agent reports about this PC (inventory `host`), longest first. */
function stringsIn(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringsIn);
  if (value && typeof value === 'object') return Object.values(value).flatMap(stringsIn);
  return [];
}

describe('stationctl on a station', () => {
  it('surveys the equipment from the running daemon and, stopped, from the database', async () => {
    const { file, agent } = await station();
    const res = await ctl(['--json', '--config', file, 'inventory']);
    expect(res.code, res.stderr).toBe(0);
    const inv = JSON.parse(res.stdout) as { station: Record<string, unknown>; host: Record<string, string>; devices: Array<Record<string, unknown>> };
    expect(inv.station).toEqual({ id: 'test-station', name: '测试站点', town: '城关镇', county: '某县', level: 'village' });
    expect(inv.host.hostname).toMatch(/\S/);
    expect(inv.host.os).toMatch(/\S/);
    expect(Number(inv.host.mem_total_mb)).toBeGreaterThan(0);
    expect(inv.devices).toEqual([
      expect.objectContaining({ id: 'projector', name: '活动室投影机', kind: 'projector', driver: 'pjlink', online: true, model: expect.stringContaining('EB-X51') }),
    ]);
    expect(inv.devices[0]).toHaveProperty('lamp_hours');

    const csv = await ctl(['--config', file, 'inventory', '--csv'], ZH);
    const lines = csv.stdout.replace(/^\uFEFF/, '').trimEnd().split('\r\n');
    expect(lines[0]).toBe('站点编号,站点名称,乡镇,设备编号,设备类型,驱动,型号,序列号,固件版本,灯泡小时,备注');
    expect(lines[1]).toMatch(/^test-station,测试站点,城关镇,[^,]+,站点电脑,/);
    expect(lines[2]).toMatch(/^test-station,测试站点,城关镇,projector,投影机,pjlink,[^,]*EB-X51/);

    await agent.stop('SIGTERM');
    const down = await ctl(['--json', '--config', file, 'inventory']);
    expect(down.code).toBe(0);
    expect(down.stderr).toContain('not running');
    const offline = JSON.parse(down.stdout) as typeof inv;
    expect(offline.devices[0]).toMatchObject({ online: false, model: expect.stringContaining('EB-X51') });
  });

  it('speaks Chinese in 80 columns for every read-only command, running and stopped', async () => {
    const { file, agent } = await station();
    const commands = [['status'], ['devices'], ['sessions'], ['events'], ['schedule'], ['inventory'], ['ports'], ['config', 'check']];
    const inventory = await ctl(['--json', '--config', file, 'inventory']);
    const hostFacts = stringsIn((JSON.parse(inventory.stdout) as { host: unknown }).host).sort((x, y) => y.length - x.length);
    const check = async (running: boolean) => {
      const results = await Promise.all(commands.map((args) => ctl(['--config', file, ...args], ZH)));
      for (const [i, args] of commands.entries()) {
        const r = results[i]!;
        expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
        for (const l of `${r.stdout}\n${r.stderr}`.split('\n')) expect(stringWidth(l), `${args.join(' ')}: ${l}`).toBeLessThanOrEqual(80);
        expect(englishWords(r.stdout, hostFacts), `${args.join(' ')} (running ${running}):\n${r.stdout}`).toEqual([]);
        if (!running && args[0] !== 'config' && args[0] !== 'ports' && args[0] !== 'schedule') expect(r.stderr).toContain('代理程序未运行');
      }
    };
    await check(true);
    await agent.stop('SIGTERM');
    await check(false);
  });

  it('keeps its exit codes: 2 for usage, 3 for a control command with the daemon down, 1 for a failed command', async () => {
    const { file, agent } = await station();
    expect((await ctl(['--config', file, 'no-such-command'])).code).toBe(2);
    expect((await ctl(['--config', file, 'sessions', '--limit'])).code).toBe(2);
    const bad = await ctl(['--json', '--config', file, 'device', 'projector', 'power', 'sideways']);
    expect(bad.code).toBe(2);
    expect(JSON.parse(bad.stdout)).toMatchObject({ error: { code: 'invalid_args' } });
    await agent.stop('SIGTERM');
    const down = await ctl(['--config', file, 'device', 'projector', 'power', 'on'], ZH);
    expect(down.code).toBe(3);
    expect(down.stderr).toContain('代理程序未运行');
    expect((await ctl(['--config', '/nonexistent/config.yaml', 'status'])).code).toBe(1);
  });

  it('status --watch redraws in place until interrupted', async () => {
    const { file, sim } = await station();
    const child = spawn(process.execPath, [CTL_JS, '--config', file, 'status', '--watch', '0.5'], { env: { ...process.env, LANG: 'C' }, stdio: ['ignore', 'pipe', 'pipe'] });
    cleanups.push(() => child.kill('SIGKILL'));
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor(() => out.split('\x1b[H\x1b[2J').length > 2, 10_000, 50);
    sim.setPower(1);
    await waitFor(() => /projector\s+projector\s+yes\s+(on|warming up)/.test(out.split('\x1b[H\x1b[2J').pop() ?? ''), 10_000, 50);
    const frames = out.split('\x1b[H\x1b[2J').filter(Boolean);
    expect(frames.length).toBeGreaterThanOrEqual(3);
    for (const f of frames) expect(f).toContain('测试站点 (test-station)');
    child.kill('SIGINT');
    const code = await new Promise((r) => child.once('exit', (c, s) => r(c ?? s)));
    expect([0, 130, 'SIGINT']).toContain(code);
  });
});
