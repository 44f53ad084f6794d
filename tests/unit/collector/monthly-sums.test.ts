/**
 * The 进度表 adds up as printed: over a generated month of 20,000 stations in 80 towns, every town row
 * (sessions, hours, hours with signal, short sessions and hours) equals the sum of its stations' printed
 * figures, and the county row the sum of the towns', in the CLI's CSV, the console's CSV in both
 * languages, the console's page and the .xlsx 通报 (read back with ExcelJS: the county sheet, each
 * town's sheet with its stations on target counted, in both languages). (Summing seconds first and rounding each row on its own, as before,
 * leaves towns 0.01 h off their stations.)
 */
import { describe, it, expect } from 'vitest';
import { assembleReport, monthlyCsv } from '../../../county/report.js';
import { localisedMonthlyCsv, renderMonthly } from '../../../county/console/pages/monthly.js';
import { consoleTranslator, type Lang } from '../../../county/console/i18n.js';
import type { PageContext } from '../../../county/console/layout.js';
import { PassThrough } from 'node:stream';
import ExcelJS from 'exceljs';
import { buildBulletin } from '../../../county/bulletin.js';
import { HEADER_ROW, MAX_TOWN_SHEETS, writeMonthlyXlsx } from '../../../county/console/xlsx.js';
import type { SessionRow } from '../../../county/store.js';

/** A small seeded PRNG (mulberry32): the same month on every run. */
function rng(seed: number): () => number {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function month() {
  const r = rng(20_000);
  const stations = Array.from({ length: 20_000 }, (_, i) => ({ station_id: `st-${String(i + 1).padStart(5, '0')}`, name: `村${i + 1}`, town: `镇${i % 80}`, timezone: null }));
  const sums = new Map(
    stations
      .filter(() => r() > 0.1)
      .map((s) => {
        const sessions = Math.floor(r() * 12);
        // Odd seconds: every station's hours need rounding.
        const duration_s = sessions * (2400 + Math.floor(r() * 5000)) + Math.floor(r() * 59);
        return [s.station_id, { sessions, duration_s, signal_s: Math.floor(duration_s * r()), short_sessions: Math.floor(r() * 3), short_duration_s: Math.floor(r() * 600) }] as const;
      }),
  );
  return assembleReport('2026-10', stations, sums);
}

/** "12.34" → 1234: printed hours as exact hundredths. */
const h100 = (text: string): number => {
  const m = /^(\d+)\.(\d\d)$/.exec(text);
  if (!m) throw new Error(`not an hours figure: ${text}`);
  return Number(m[1]) * 100 + Number(m[2]);
};

type Figures = [sessions: number, hours: number, signal: number, short: number, shortHours: number];
const add = (a: Figures, b: Figures): Figures => a.map((x, i) => x + b[i]!) as Figures;

/** Station, town and total rows of a progress CSV (the CLI's, or the console's in either language). */
function csvRows(csv: string, kinds: { station: string; town: string; total: string }) {
  const rows = csv.replace(/^\uFEFF/, '').trim().split('\n').slice(1).map((l) => l.split(','));
  const figures = (c: string[]): Figures => [Number(c[5]), h100(c[6]!), h100(c[7]!), Number(c[8]), h100(c[9]!)];
  return {
    stations: rows.filter((c) => c[1] === kinds.station).map((c) => ({ town: c[2]!, f: figures(c) })),
    towns: rows.filter((c) => c[1] === kinds.town).map((c) => ({ town: c[2]!, f: figures(c) })),
    total: figures(rows.find((c) => c[1] === kinds.total)!),
  };
}

function expectAddsUp(parsed: ReturnType<typeof csvRows>): void {
  const byTown = new Map<string, Figures>();
  for (const s of parsed.stations) byTown.set(s.town, add(byTown.get(s.town) ?? [0, 0, 0, 0, 0], s.f));
  expect(parsed.towns.length).toBe(80);
  for (const t of parsed.towns) expect(t.f, t.town).toEqual(byTown.get(t.town));
  expect(parsed.total).toEqual(parsed.towns.reduce<Figures>((a, t) => add(a, t.f), [0, 0, 0, 0, 0]));
}

describe('the monthly progress table adds up as printed', () => {
  const report = month();

  it('in the CLI CSV', () => {
    expect(report.stations).toHaveLength(20_000);
    expectAddsUp(csvRows(monthlyCsv(report), { station: 'station', town: 'town', total: 'total' }));
  });

  it('in the console CSV, in Chinese and in English', () => {
    const zh = localisedMonthlyCsv(report, consoleTranslator('zh'), 'zh');
    expectAddsUp(csvRows(zh, { station: '站点', town: '乡镇', total: '合计' }));
    expectAddsUp(csvRows(localisedMonthlyCsv(report, consoleTranslator('en'), 'en'), { station: 'station', town: 'town', total: 'total' }));
  });

  it('on the console page, which states the rule, its town rows and total being the CSV\'s', () => {
    for (const lang of ['zh', 'en'] as Lang[]) {
      const ctx: PageContext = { t: consoleTranslator(lang), lang, path: '/monthly', signIn: undefined, tz: 'Asia/Shanghai' };
      const page = renderMonthly(ctx, report, '', '1', '2026-12');
      expect(page).toMatch(lang === 'zh' ? /镇和全县的合计是所含站点数字之和/ : /figures are the sums of their stations/);
      const table = page.slice(page.indexOf('<table id="towns"'), page.indexOf('</table>', page.indexOf('<table id="towns"')));
      const cells = (row: string) => [...row.matchAll(/<td class="num[^"]*">([^<]*)<\/td>/g)].map((m) => m[1]!);
      const towns = [...table.matchAll(/<tr[^>]*>(.*?)<\/tr>/gs)].map((m) => cells(m[1]!)).filter((c) => c.length === 7);
      const csv = csvRows(monthlyCsv(report), { station: 'station', town: 'town', total: 'total' });
      expect(towns).toHaveLength(81);
      const printed = towns.map((c): Figures => [Number(c[1]), h100(c[2]!), h100(c[3]!), Number(c[4]), h100(c[5]!)]);
      expect(printed.slice(0, 80)).toEqual(csv.towns.map((t) => t.f));
      expect(printed[80]).toEqual(csv.total);
    }
  });
});

/** The workbook as the console sends it, read back. */
async function xlsxOf(report: ReturnType<typeof month>, lang: Lang, sessions: SessionRow[] = []): Promise<ExcelJS.Workbook> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise((r) => out.on('end', r));
  const bulletin = buildBulletin(report, { sessions: 4, hours_100: 600 });
  await writeMonthlyXlsx(out, { bulletin, sessions, sessionsMore: 0, title: '某县', t: consoleTranslator(lang), lang, tz: 'Asia/Shanghai' });
  await done;
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(Buffer.concat(chunks) as unknown as ArrayBuffer);
  return wb;
}

/** The rows under a sheet's header: its first cells' values. */
function sheetRows(ws: ExcelJS.Worksheet): ExcelJS.CellValue[][] {
  const rows: ExcelJS.CellValue[][] = [];
  ws.eachRow((row, n) => {
    if (n > HEADER_ROW) rows.push((row.values as ExcelJS.CellValue[]).slice(1));
  });
  return rows;
}

/** Sessions, hours, signal hours, short sessions, short hours of a row whose figures start at column `from` (0-based). */
const xlsxFigures = (r: ExcelJS.CellValue[], from: number): Figures => {
  const n = (i: number) => Number(r[from + i]);
  const h = (i: number) => Math.round(Number(r[from + i]) * 100);
  return [n(0), h(1), h(2), n(3), h(4)];
};

describe('the .xlsx 通报 adds up as printed', () => {
  const report = month();

  for (const lang of ['zh', 'en'] as Lang[]) {
    it(`in every sheet, in ${lang === 'zh' ? 'Chinese' : 'English'}`, async () => {
      const t = consoleTranslator(lang);
      const wb = await xlsxOf(report, lang);
      expect(report.towns.length).toBeLessThanOrEqual(MAX_TOWN_SHEETS);
      // The county sheet, the 80 towns' and the sessions'.
      expect(wb.worksheets).toHaveLength(82);
      const county = wb.worksheets[0]!;
      expect(county.name).toBe(t('bulletin.county_sheet'));
      expect(county.getRow(HEADER_ROW).getCell(1).value).toBe(t('col.town'));
      expect(String(county.getRow(2).getCell(1).value)).toContain(lang === 'zh' ? '镇和全县的合计是所含站点数字之和' : 'figures are the sums of their stations');
      const rows = sheetRows(county);
      const towns = rows.slice(0, -1);
      const total = rows.at(-1)!;
      expect(total[0]).toBe(t('monthly.total'));
      expect(towns).toHaveLength(80);
      expect(xlsxFigures(total, 2)).toEqual(towns.reduce<Figures>((a, r) => add(a, xlsxFigures(r, 2)), [0, 0, 0, 0, 0]));
      for (const col of [1, 7, 8]) expect(Number(total[col]), `column ${col}`).toBe(towns.reduce((a, r) => a + Number(r[col]), 0));
      let metStations = 0;
      for (const [i, town] of towns.entries()) {
        const ws = wb.worksheets[i + 1]!;
        expect(ws.name).toBe(town[0]);
        expect(ws.getRow(HEADER_ROW).getCell(1).value).toBe(t('col.rank'));
        const stations = sheetRows(ws);
        const sub = stations.pop()!;
        expect(sub[1]).toBe(t('bulletin.subtotal', { town: String(town[0]) }));
        // The subtotal is its stations' sum, and the county sheet's row for the town.
        expect(xlsxFigures(sub, 3)).toEqual(stations.reduce<Figures>((a, r) => add(a, xlsxFigures(r, 3)), [0, 0, 0, 0, 0]));
        expect(xlsxFigures(sub, 3)).toEqual(xlsxFigures(town, 2));
        expect(stations).toHaveLength(Number(town[1]));
        const met = stations.filter((r) => r[10] === t('yes')).length;
        expect(Number(sub[10])).toBe(met);
        expect(Number(town[8])).toBe(met);
        metStations += met;
        // Ranked by hours: each station's rank is one more than the stations with more hours.
        for (const r of stations) expect(r[0]).toBe(1 + stations.filter((o) => Math.round(Number(o[4]) * 100) > Math.round(Number(r[4]) * 100) || (o[4] === r[4] && Number(o[3]) > Number(r[3]))).length);
      }
      expect(metStations).toBeGreaterThan(0);
      expect(Number(total[8])).toBe(metStations);
      expect(wb.worksheets[81]!.name).toBe(t('bulletin.sessions_sheet'));
    }, 120_000);
  }
});
