/**
 * The monthly 通报's pure parts: stations ranked (ties share a rank) and measured on their printed
 * figures against the target; the county's name for the title; the town a document is narrowed to; Excel
 * sheet names and cell texts from whatever a station reports; the sessions sheet saying how many sessions
 * it leaves out.
 */
import { describe, expect, it } from 'vitest';
import { PassThrough } from 'node:stream';
import ExcelJS from 'exceljs';
import { buildBulletin, countyName, monthlyTarget, rankStations } from '../../../county/bulletin.js';
import { assembleReport, type MonthlyStationRow } from '../../../county/report.js';
import { consoleTranslator } from '../../../county/console/i18n.js';
import { townReport } from '../../../county/console/routes-bulletin.js';
import { cellText, HEADER_ROW, MAX_SESSION_ROWS, sheetName, writeMonthlyXlsx } from '../../../county/console/xlsx.js';
import type { SessionRow } from '../../../county/store.js';

const station = (id: string, sessions: number, hours_100: number): MonthlyStationRow =>
  ({ station_id: id, name: id, town: 't', sessions, hours_100, duration_s: hours_100 * 36, signal_s: 0, short_sessions: 0, short_duration_s: 0, signal_hours_100: 0, short_hours_100: 0, no_activity: sessions === 0 }) as MonthlyStationRow;

describe('ranking and the monthly target', () => {
  it('ranks by hours, then sessions; equal figures share a rank, the next one skips', () => {
    const ranked = rankStations([station('a', 3, 500), station('b', 5, 800), station('c', 4, 500), station('d', 4, 500), station('e', 0, 0)], { sessions: 4, hours_100: 500 });
    expect(ranked.map((r) => [r.row.station_id, r.rank, r.met, r.sessions_pct, r.hours_pct])).toEqual([
      ['b', 1, true, 125, 160],
      ['c', 2, true, 100, 100],
      ['d', 2, true, 100, 100],
      ['a', 4, false, 75, 100],
      ['e', 5, false, 0, 0],
    ]);
    expect(rankStations([station('a', 1, 1)], null)[0]).toMatchObject({ rank: 1, met: null, sessions_pct: null, hours_pct: null });
  });

  it('measures the printed hours: 0.005 h rounds to 0.01 h and meets a 0.01 h target', () => {
    const report = assembleReport('2026-10', [{ station_id: 's', name: null, town: null, timezone: null }], new Map([['s', { sessions: 1, duration_s: 18, signal_s: 0, short_sessions: 0, short_duration_s: 0 }]]));
    const b = buildBulletin(report, monthlyTarget(1, 0.01));
    expect(b.towns[0]!.stations[0]).toMatchObject({ met: true, hours_pct: 100 });
    expect([b.towns[0]!.met, b.met]).toEqual([1, 1]);
    expect(monthlyTarget(4, 7.25)).toEqual({ sessions: 4, hours_100: 725 });
    expect(monthlyTarget(4, undefined)).toBeNull();
  });

  it('names the county as configured, else as most stations report it', () => {
    const st = (county: string | null) => ({ county });
    expect(countyName('某某县', [st('甲县')])).toBe('某某县');
    expect(countyName(undefined, [st('甲县'), st('乙县'), st('乙县'), st(null)])).toBe('乙县');
    expect(countyName(undefined, [st(null)])).toBeNull();
  });

  it('narrows a report to one town, whose figures are then the total', () => {
    const stations = [
      { station_id: 'a', name: null, town: '甲', timezone: null },
      { station_id: 'b', name: null, town: '乙', timezone: null },
      { station_id: 'c', name: null, town: null, timezone: null },
    ];
    const t = { sessions: 2, duration_s: 3700, signal_s: 100, short_sessions: 1, short_duration_s: 60 };
    const report = assembleReport('2026-10', stations, new Map([['a', t], ['b', t], ['c', t]]));
    const one = townReport(report, '乙');
    expect(one.stations.map((s) => s.station_id)).toEqual(['b']);
    const { town: _town, ...figures } = report.towns.find((x) => x.town === '乙')!;
    expect(one.total).toEqual(figures);
    expect(one.towns).toHaveLength(1);
    expect(townReport(report, '').stations.map((s) => s.station_id)).toEqual(['c']);
    expect(() => townReport(report, '丙')).toThrow();
  });
});

describe('the .xlsx from what stations report', () => {
  it('makes sheet names Excel takes: no : \\ / ? * [ ], at most 31 characters, unique whatever the case', () => {
    const taken = new Set<string>();
    expect(sheetName('全县汇总', taken)).toBe('全县汇总');
    expect(sheetName('a/b:c?d*e[f]g\\h', taken)).toBe('a_b_c_d_e_f_g_h');
    expect(sheetName('镇'.repeat(40), taken)).toBe('镇'.repeat(31));
    expect(sheetName('镇'.repeat(40), taken)).toBe(`${'镇'.repeat(27)} (2)`);
    expect(sheetName('Town', taken)).toBe('Town');
    expect(sheetName('TOWN', taken)).toBe('TOWN (2)');
    expect(sheetName("''", taken)).toBe('_');
  });

  it('keeps cell texts XML can carry: no control characters, no lone surrogates, pairs kept, clipped', () => {
    expect(cellText('a\u0000b\u0007c\td\ne\u007f')).toBe('abc\td\ne');
    expect(cellText('x\ud800y\udc00z')).toBe('xyz');
    expect(cellText('𠀀村')).toBe('𠀀村');
    expect(cellText('=cmd|x')).toBe('=cmd|x');
    expect(cellText('长'.repeat(5000))).toHaveLength(1000);
    expect(cellText(null)).toBe('');
  });

  it('says on the sessions sheet how many sessions it leaves out, and writes hostile texts as plain text', async () => {
    const report = assembleReport('2026-10', [{ station_id: 's', name: '=HYPERLINK("x")', town: 'a[b]', timezone: null }], new Map([['s', { sessions: 1, duration_s: 3600, signal_s: 0, short_sessions: 0, short_duration_s: 0 }]]));
    const session: SessionRow = {
      station_id: 's', seq: 1, id: '01SESSION0000000000000000', start_ms: Date.parse('2026-10-03T11:30:00.000Z'), end_ms: Date.parse('2026-10-03T12:30:00.000Z'),
      duration_s: 3600, signal_s: 0, short: false, trigger: 'schedule:tuesday', end_reason: 'devices_off', note: { topic: '=1+1\u0001', attendees: 12, organiser: null, note: null },
    };
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    const t = consoleTranslator('zh');
    await writeMonthlyXlsx(out, { bulletin: buildBulletin(report, null), sessions: [session], sessionsMore: 41_000, title: '县', t, lang: 'zh', tz: 'Asia/Shanghai' });
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(Buffer.concat(chunks) as unknown as ArrayBuffer);
    expect(wb.worksheets.map((w) => w.name)).toEqual(['全县汇总', 'a_b_', '使用记录']);
    const sheet = wb.worksheets[2]!;
    expect(String(sheet.getRow(2).getCell(1).value)).toContain(t('bulletin.sessions_more', { n: 41_000, max: MAX_SESSION_ROWS }));
    expect((sheet.getRow(HEADER_ROW + 1).values as unknown[]).slice(1)).toEqual(['2026-10-03', '19:30', '20:30', 60, 'a[b]', '=HYPERLINK("x")', 's', '=1+1', 12, undefined, undefined, undefined, '播放计划 tuesday']);
    expect(sheet.getRow(HEADER_ROW + 1).getCell(8).type).toBe(ExcelJS.ValueType.String);
    // No target set: the town sheet has no completion columns, and says so.
    expect(String(wb.worksheets[1]!.getRow(2).getCell(1).value)).toContain(t('bulletin.no_target'));
    expect(wb.worksheets[1]!.getRow(HEADER_ROW).cellCount).toBe(8);
  });
});
