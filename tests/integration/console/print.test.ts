/**
 * The printed monthly 通报, page by page: the console's print page (/monthly/print) printed to an A4 PDF
 * by Chromium (playwright-core page.pdf, as a clerk's browser prints it), its text read back with
 * pdftotext. Over a seeded county of 70 stations in two towns, in Chinese and in English: the number of
 * pages; on every page the county's name and month as the title, the section, "page i of n", the table
 * header and the rounding rule; exactly the rows expected on that page, in rank order with their figures
 * and completion; and on the last page the county total, equal to the sum of the stations' printed figures.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { AccountFile, upsertAccount } from '../../../county/console/accounts.js';
import { consoleTranslator, type Lang, type T } from '../../../county/console/i18n.js';
import { PRINT_ROWS } from '../../../county/console/pages/print.js';
import { startConsole, type ConsoleServer } from '../../../county/console/server.js';
import { openCollectorStore } from '../../../county/open-store.js';
import { hoursText, monthlyReport, ROUNDING_RULE, type MonthlyReport, type MonthlyStationRow, type MonthlyTotals } from '../../../county/report.js';
import { seedConsoleDb } from '../../../scripts/console/seed.js';
import { launchChromium } from '../../../scripts/lib/kit/chromium.js';
import { pdfPages } from '../../../scripts/lib/kit/index.js';
import { tempDir } from '../../helpers/temp.js';

const MONTH = '2026-10';
const TARGET = { sessions: 4, hours_100: 600 };
const cleanups: Array<() => unknown> = [];
let server: ConsoleServer;
let page: Page;
let report: MonthlyReport;

beforeAll(async () => {
  const dir = tempDir('console-print-');
  const store = await openCollectorStore(join(dir, 'county.db'));
  cleanups.push(() => store.close());
  // Sessions every day from mid-September to mid-November: October is a whole month; the stations report 示范县.
  await seedConsoleDb(store, { stations: 70, days: 60, historyHours: 1, nowMs: Date.parse('2026-11-15T12:00:00.000Z') });
  report = await monthlyReport(store, MONTH);
  const users = join(dir, 'users');
  await upsertAccount(users, 'clerk', 'viewer', 'viewer-password');
  server = await startConsole({ store, accounts: new AccountFile(users), port: 0, bulletin: { target: TARGET } });
  cleanups.push(() => server.close());
  const browser = await launchChromium();
  cleanups.push(() => browser.close());
  page = await browser.context.newPage();
  await page.goto(`${server.url}/login`);
  await page.fill('input[name=user]', 'clerk');
  await page.fill('input[name=password]', 'viewer-password');
  await Promise.all([page.waitForURL('**/fleet'), page.click('#login button[type=submit]')]);
}, 90_000);

afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const figs = (x: MonthlyTotals) => [x.sessions, hoursText(x.hours_100), hoursText(x.signal_hours_100), x.short_sessions, hoursText(x.short_hours_100)].map(String);
/** A printed row as pdftotext -layout lays it out: its cells in order, separated by spaces. */
const rowRe = (cells: Array<string | number>) => new RegExp(`^\\s*${cells.map((c) => esc(String(c))).join('\\s+')}\\s*$`, 'm');

/** The table rows the 通报's station pages hold, in order: each town's name, its stations by rank, its subtotal; the total last. */
function stationSection(t: T): RegExp[] {
  const rows: RegExp[] = [];
  for (const town of report.towns) {
    const mine = report.stations.filter((s) => s.town === town.town);
    const better = (a: MonthlyStationRow, b: MonthlyStationRow) => b.hours_100 - a.hours_100 || b.sessions - a.sessions;
    mine.sort((a, b) => better(a, b) || (a.station_id < b.station_id ? -1 : 1));
    rows.push(rowRe([town.town!]));
    for (const s of mine) {
      const rank = 1 + mine.filter((o) => better(o, s) < 0).length;
      const met = s.sessions >= TARGET.sessions && s.hours_100 >= TARGET.hours_100;
      rows.push(rowRe([rank, s.name!, ...figs(s), `${Math.round((100 * s.sessions) / TARGET.sessions)}%`, `${Math.round((100 * s.hours_100) / TARGET.hours_100)}%`, t(met ? 'yes' : 'no')]));
    }
    const met = mine.filter((s) => s.sessions >= TARGET.sessions && s.hours_100 >= TARGET.hours_100).length;
    rows.push(rowRe([t('bulletin.subtotal', { town: town.town! }), ...figs(town), met]));
  }
  rows.push(rowRe([t('monthly.total'), ...figs(sum(report.stations)), metAll()]));
  return rows;
}

/** The county's figures as the sum of the stations' printed ones. */
function sum(stations: readonly MonthlyTotals[]): MonthlyTotals {
  const z = { sessions: 0, duration_s: 0, signal_s: 0, short_sessions: 0, short_duration_s: 0, hours_100: 0, signal_hours_100: 0, short_hours_100: 0 };
  for (const s of stations) for (const k of Object.keys(z) as Array<keyof typeof z>) z[k] += s[k];
  return z;
}
const metAll = () => report.stations.filter((s) => s.sessions >= TARGET.sessions && s.hours_100 >= TARGET.hours_100).length;

/** The lines of a page's table: after its header row, up to the rounding rule. */
function tableLines(text: string, header: RegExp, lang: Lang): string[] {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const head = lines.findIndex((l) => header.test(l));
  const rule = lines.findIndex((l) => l.trim().startsWith(ROUNDING_RULE[lang].slice(0, 6)));
  expect(head, 'the table header').toBeGreaterThan(-1);
  expect(rule, 'the rounding rule').toBeGreaterThan(head);
  return lines.slice(head + 1, rule);
}

describe('the printed monthly 通报', () => {
  for (const lang of ['zh', 'en'] as Lang[]) {
    it(`prints to A4 page by page, with its header, its rows and the totals last (${lang})`, async () => {
      const t = consoleTranslator(lang);
      expect(report.towns).toHaveLength(2);
      expect(report.stations).toHaveLength(70);
      expect(report.total.sessions).toBeGreaterThan(500);
      await page.goto(`${server.url}/lang?to=${lang}&back=/monthly/print?month=${MONTH}`);
      const pdf = await page.pdf({ format: 'A4' });
      const pages = await pdfPages(pdf);

      // One page of towns (2 rows and the total), then 2 town names + 70 stations + 2 subtotals + the total.
      const stationRows = stationSection(t);
      const expectedPages = 1 + Math.ceil(stationRows.length / PRINT_ROWS);
      expect(stationRows).toHaveLength(75);
      expect(pages).toHaveLength(expectedPages);
      expect(await page.locator('body').getAttribute('data-pages')).toBe(String(expectedPages));

      const title = lang === 'zh' ? '示范县2026年10月远程教育站点使用情况通报' : "示范县: stations' use in 10/2026";
      const townHead = rowRe([t('col.town'), t('col.stations'), t('print.sessions'), t('print.hours'), t('print.signal_hours'), t('print.short_sessions'), t('print.short_hours'), t('print.no_activity'), t('print.met_stations')]);
      const stationHead = rowRe([t('col.rank'), t('col.station'), t('print.sessions'), t('print.hours'), t('print.signal_hours'), t('print.short_sessions'), t('print.short_hours'), t('print.sessions_pct'), t('print.hours_pct'), t('col.met')]);
      pages.forEach((text, i) => {
        expect(text, `page ${i + 1}: title`).toContain(title);
        expect(text, `page ${i + 1}: number`).toContain(t('bulletin.page', { page: i + 1, pages: expectedPages }));
        expect(text, `page ${i + 1}: section`).toContain(i === 0 ? t('bulletin.towns') : t('bulletin.stations'));
        expect(text.replace(/\s+/g, ''), `page ${i + 1}: target`).toContain(t('bulletin.target', { sessions: 4, hours: '6.00' }).replace(/\s+/g, ''));
      });

      // Page 1: the towns and the county total.
      const towns = tableLines(pages[0]!, townHead, lang);
      const county = sum(report.stations);
      expect(towns).toHaveLength(3);
      report.towns.forEach((x, i) => expect(towns[i]).toMatch(rowRe([x.town!, x.stations, ...figs(x), x.stations_no_activity, rowCount(x.town)])));
      expect(towns[2]).toMatch(rowRe([t('monthly.total'), 70, ...figs(county), report.total.stations_no_activity, metAll()]));

      // The station pages: exactly their share of the rows, in order.
      for (let p = 1; p < expectedPages; p++) {
        const lines = tableLines(pages[p]!, stationHead, lang);
        const want = stationRows.slice((p - 1) * PRINT_ROWS, p * PRINT_ROWS);
        expect(lines, `page ${p + 1}`).toHaveLength(want.length);
        want.forEach((re, i) => expect(lines[i], `page ${p + 1}, row ${i + 1}`).toMatch(re));
      }
      // The last page ends with the county total: the sum of the stations' printed figures.
      const last = tableLines(pages.at(-1)!, stationHead, lang);
      expect(last.at(-1)).toMatch(rowRe([t('monthly.total'), ...figs(county), metAll()]));
      expect(figs(county)).toEqual(figs(report.total));
    }, 60_000);
  }
});

/** Stations of `town` on target. */
function rowCount(town: string | null): number {
  return report.stations.filter((s) => s.town === town && s.sessions >= TARGET.sessions && s.hours_100 >= TARGET.hours_100).length;
}
