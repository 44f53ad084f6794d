/**
 * The 进度表 adds up as printed: over a generated month of 20,000 stations in 80 towns, every town row
 * (sessions, hours, hours with signal, short sessions and hours) equals the sum of its stations' printed
 * figures, and the county row the sum of the towns', in the CLI's CSV, the console's CSV in both
 * languages and the console's page. (Summing seconds first and rounding each row on its own, as before,
 * leaves towns 0.01 h off their stations.)
 */
import { describe, it, expect } from 'vitest';
import { assembleReport, monthlyCsv } from '../../../county/report.js';
import { localisedMonthlyCsv, renderMonthly } from '../../../county/console/pages/monthly.js';
import { consoleTranslator, type Lang } from '../../../county/console/i18n.js';
import type { PageContext } from '../../../county/console/layout.js';

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
