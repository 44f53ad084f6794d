import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HostInfoSchema, HostHealthSchema } from '../../../protocol/payloads.js';
import { HostHealthSampler, gatherHostInfo, hostInfo, hostInventoryRow } from '../../../agent/host.js';
import { tempDir } from '../../helpers/temp.js';

describe('host facts', () => {
  it('gathers the static facts of this machine in the inventory shape, once per process', async () => {
    const info = HostInfoSchema.parse(await gatherHostInfo({ serialPorts: async () => [] }));
    expect(info.mem_total_mb).toBeGreaterThan(0);
    expect(info.cpu.cores).toBeGreaterThan(0);
    expect(info.os.platform).toBe('linux');
    const a = hostInfo();
    expect(hostInfo()).toBe(a);
    HostInfoSchema.parse(await a);
    const row = hostInventoryRow(info);
    expect(row).toMatchObject({ hostname: info.hostname, cpu_cores: String(info.cpu.cores), mem_total_mb: String(info.mem_total_mb) });
    expect(Object.values(row).every((v) => typeof v === 'string')).toBe(true);
  });

  it('samples health cheaply: 200 samples in well under two seconds', async () => {
    const dir = tempDir();
    const sampler = new HostHealthSampler(dir);
    // Burn some CPU so the delta is non-zero.
    let x = 0;
    for (let i = 0; i < 2e6; i++) x += Math.sqrt(i);
    expect(x).toBeGreaterThan(0);
    const t0 = performance.now();
    let last;
    for (let i = 0; i < 200; i++) last = HostHealthSchema.parse(await sampler.sample());
    expect(performance.now() - t0).toBeLessThan(2_000);
    expect(last!.mem_pct).toBeGreaterThan(0);
    expect(last!.disk_free_mb).toBeGreaterThan(0);
    expect(last!.disk_free_pct).toBeGreaterThan(0);
  });

  it('reads the hottest sane thermal zone, ignoring absent sensors', async () => {
    const root = tempDir();
    const zones: Record<string, string> = { thermal_zone0: '45000\n', thermal_zone1: '61500\n', thermal_zone2: '-273000\n', thermal_zone3: 'garbage' };
    for (const [z, v] of Object.entries(zones)) {
      mkdirSync(join(root, z));
      writeFileSync(join(root, z, 'temp'), v);
    }
    mkdirSync(join(root, 'cooling_device0'));
    const s = await new HostHealthSampler(root, root).sample();
    expect(s.temperature_c).toBe(61.5);
    const none = await new HostHealthSampler(root, join(root, 'missing')).sample();
    expect(none.temperature_c).toBeNull();
  });

  it('reports unknown disk figures when data_dir is missing instead of failing', async () => {
    const s = await new HostHealthSampler('/nonexistent/data/dir').sample();
    expect(s.disk_free_mb).toBeNull();
  });
});
