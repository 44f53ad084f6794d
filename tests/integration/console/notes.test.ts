/**
 * A note typed on site after delivery reaches the county's documents: a real agent (the built daemon
 * with a simulated PJLink projector) holds a class, the collector stores and acks its usage record over a
 * real mosquitto, then the technician types `stationctl session note` — too late to edit the record, so
 * the agent sends an `annotation` event — and the console (its own process, on the collector's SQLite
 * file) shows the topic, attendees and organiser on the station page in Chromium, and in the monthly
 * .xlsx downloaded from the monthly page's link (read back with ExcelJS).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import type { Page } from 'playwright-core';
import { callDaemon } from '../../../agent/control/client.js';
import { startCollector, type Collector } from '../../../county/collector.js';
import { HEADER_ROW } from '../../../county/console/xlsx.js';
import { launchChromium } from '../../../scripts/lib/kit/chromium.js';
import { PjlinkSimulator } from '../../../scripts/sims/pjlink.js';
import { Mosquitto, sleep, waitFor } from '../../../scripts/lib/kit/index.js';
import { ctl, ROOT, startAgent, waitReady, writeConfig, type RunningAgent } from '../../helpers/agent.js';
import { tempDir } from '../../helpers/temp.js';

const CONSOLE_JS = join(ROOT, 'dist', 'county', 'console.js');
const KEY = 'county-command-key-notes-0123456789abcdef';
const STATION = 'village-notes';
const cleanups: Array<() => unknown> = [];

let collector: Collector;
let agent: RunningAgent;
let sim: PjlinkSimulator;
let configFile: string;
let socket: string;
let base: string;
let page: Page;
let dir: string;

const status = async () => (await callDaemon(socket, 'status')).data as { open_session: string | null; county: { outbox_depth: number } };
const sessions = async () => ((await callDaemon(socket, 'sessions.list', { since: '2000-01-01', until: '2100-01-01' })).data as { sessions: Array<{ id: string }> }).sessions;

beforeAll(async () => {
  const broker = await Mosquitto.start();
  cleanups.push(() => broker.dispose());
  dir = tempDir('console-notes-');
  const db = join(dir, 'county.db');
  const keyFile = join(dir, 'county.key');
  writeFileSync(keyFile, `${KEY}\n`, { mode: 0o600 });
  collector = await startCollector({ url: broker.url, db, gapGraceMs: 500, ackIntervalMs: 50, commandKey: KEY });
  cleanups.push(() => collector.stop());

  sim = new PjlinkSimulator({ warmupMs: 50, cooldownMs: 50 });
  await sim.start();
  cleanups.push(() => sim.stop());
  configFile = writeConfig(dir, {
    station: { id: STATION, name: '桃花坞村', town: '城关镇', county: '测试县', timezone: 'Asia/Shanghai' },
    county: { url: broker.url, heartbeat_s: 5, require_ack: true, allowed_commands: ['sessions.resend'], command_key_file: keyFile },
    devices: [{ id: 'projector', kind: 'projector', driver: 'pjlink', host: '127.0.0.1', port: sim.port, poll_s: 0.25 }],
    sessions: { min_s: 2, merge_gap_s: 0, idle_cutoff_s: 600, checkpoint_s: 1 },
  });
  socket = join(dir, 'ctl.sock');
  agent = startAgent(configFile);
  cleanups.push(() => agent.stop('SIGKILL'));
  await waitReady(agent, configFile);

  const users = join(dir, 'users');
  const add = spawn(process.execPath, [CONSOLE_JS, 'user', 'add', '--users', users, 'clerk', '--role', 'viewer'], { stdio: ['pipe', 'ignore', 'inherit'] });
  add.stdin.end('viewer-password\n');
  expect(await new Promise((r) => add.on('exit', r))).toBe(0);
  const proc = spawn(process.execPath, [CONSOLE_JS, '--db', db, '--users', users, '--http', '127.0.0.1:0', '--monthly-target-sessions', '1', '--monthly-target-hours', '0.01', '--log-level', 'warn'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise((r) => proc.on('exit', r));
  cleanups.push(async () => {
    proc.kill('SIGTERM');
    await exited;
  });
  await waitFor(() => /console listening on (http:\S+)/.test(out) || proc.exitCode !== null, 15_000);
  base = /console listening on (http:\S+)/.exec(out)?.[1] ?? '';
  expect(base, out).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

  const browser = await launchChromium();
  cleanups.push(() => browser.close());
  page = await browser.context.newPage();
  await page.goto(`${base}/login`);
  await page.fill('input[name=user]', 'clerk');
  await page.fill('input[name=password]', 'viewer-password');
  await Promise.all([page.waitForURL('**/fleet'), page.click('#login button[type=submit]')]);
}, 120_000);

afterAll(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
}, 60_000);

describe('a note typed on site after delivery', () => {
  it('shows on the station page and in the monthly .xlsx', async () => {
    // A class: the projector on for 2.5 s once the agent has opened a session, then off until it closes.
    sim.setPower(1);
    await waitFor(async () => (await status()).open_session, 10_000);
    await sleep(2_500); // the class itself: only wall time on a real agent makes a session of this length
    sim.setPower(0);
    await waitFor(async () => (await sessions()).length === 1, 10_000);
    // Delivered and acked: the record left the outbox, and is the county's.
    await waitFor(async () => (await status()).county.outbox_depth === 0, 20_000);
    const id = (await sessions())[0]!.id;

    const note = await ctl(['--config', configFile, '--json', 'session', 'note', id, '--topic', '果树冬季修剪技术', '--attendees', '23', '--organiser', '王书记', '--note', '村委会会议室']);
    expect(note.code, note.stderr).toBe(0);
    // Too late to edit the acked record: the note travels as an annotation event.
    expect(JSON.parse(note.stdout)).toMatchObject({ session_id: id, status: 'event' });
    await waitFor(async () => (await status()).county.outbox_depth === 0, 20_000);
    await collector.flush();

    const row = page.locator(`#sessions tr[data-session="${id}"]`);
    await waitFor(async () => {
      await page.goto(`${base}/station?id=${STATION}`);
      return (await row.count()) === 1 && (await row.locator('td').nth(6).textContent()) !== '';
    }, 20_000, 300);
    const cells = await row.locator('td').allTextContents();
    expect(cells.slice(6)).toEqual(['果树冬季修剪技术', '23', '王书记']);
    expect(await row.locator('td').nth(6).getAttribute('title')).toBe('村委会会议室');
    // Before this change the page said only that a note had been added to the record.
    expect(await page.locator('#events').textContent()).toMatch(/已为使用记录 #\d+ 补充登记/);

    // The monthly page's Excel link: the sessions sheet holds the note.
    await page.goto(`${base}/monthly`);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#xlsx')]);
    const file = join(dir, 'bulletin.xlsx');
    await download.saveAs(file);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(readFileSync(file) as unknown as ArrayBuffer);
    expect(wb.worksheets.map((w) => w.name)).toEqual(['全县汇总', '城关镇', '使用记录']);
    expect(String(wb.worksheets[0]!.getRow(1).getCell(1).value)).toMatch(/^测试县\d{4}年\d{1,2}月远程教育站点使用情况通报$/);
    const sheet = wb.getWorksheet('使用记录')!;
    expect((sheet.getRow(HEADER_ROW).values as unknown[]).slice(1)).toEqual(['日期', '开始', '结束', '时长（分钟）', '乡镇', '站点名称', '站点编号', '主题', '人数', '组织者', '备注', '短时', '触发方式']);
    const rows: unknown[][] = [];
    sheet.eachRow((r, n) => n > HEADER_ROW && rows.push((r.values as unknown[]).slice(1)));
    expect(rows).toHaveLength(1);
    expect(rows[0]!.slice(4, 11)).toEqual(['城关镇', '桃花坞村', STATION, '果树冬季修剪技术', 23, '王书记', '村委会会议室']);
    // The town's sheet: the station ranked first; the target (1 session, 0.01 h) is measured on the
    // printed figures, and a class of 2.5 s prints as 0.00 h: the sessions are met, the hours not.
    const town: unknown[][] = [];
    wb.worksheets[1]!.eachRow((r, n) => n > HEADER_ROW && town.push((r.values as unknown[]).slice(1)));
    expect(town[0]!.slice(0, 5)).toEqual([1, '桃花坞村', STATION, 1, 0]);
    expect(town[0]!.slice(-3)).toEqual([1, 0, '否']);
  }, 90_000);
});
