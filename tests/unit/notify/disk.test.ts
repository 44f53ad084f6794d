/**
 * Disk nearly full (county/notify/detect.ts diskNews): a station whose latest heartbeat shows less free
 * space than `rules.disk_free_pct_below` is told once, not again while it holds (its mark), and told
 * freed once it is back DISK_RECOVER_POINTS above the rule (no flapping around the line); 0 turns it
 * off; the rule is bounded where it enters; the words in zh and en, alone and merged per town.
 */
import { describe, expect, it } from 'vitest';
import { NotifyRulesSchema } from '../../../county/notify/config.js';
import { DISK_RECOVER_POINTS, diskNews } from '../../../county/notify/detect.js';
import { noticeText, summaryText } from '../../../county/notify/messages.js';
import { diskMark, type News, type NotifyDiskRow } from '../../../county/notify/queue.js';

const rules = NotifyRulesSchema.parse({});
const targets = [
  { id: 'county', towns: 'all' as const },
  { id: 'cg', towns: ['城关镇'] },
  { id: 'hk', towns: ['河口镇'] },
];
const row = (pct: number | null, mb: number | null = 900, id = 's1'): NotifyDiskRow => ({ station_id: id, name: '张家庄村', town: '城关镇', disk_free_pct: pct, disk_free_mb: mb });
const marked = new Set([diskMark('s1')]);
const none = new Set<string>();
const kinds = (news: News[]) => news.map((n) => [n.items.map((i) => [i.target, i.notice.kind]), n.guard, n.marks]);

describe('disk nearly full', () => {
  it('is on by default at 5 per cent, and the rule is bounded 0–50', () => {
    expect(rules.disk_free_pct_below).toBe(5);
    expect(DISK_RECOVER_POINTS).toBe(2);
    expect(NotifyRulesSchema.parse({ disk_free_pct_below: 0 }).disk_free_pct_below).toBe(0);
    expect(NotifyRulesSchema.safeParse({ disk_free_pct_below: 51 }).success).toBe(false);
    expect(NotifyRulesSchema.safeParse({ disk_free_pct_below: -1 }).success).toBe(false);
    expect(NotifyRulesSchema.safeParse({ disk_free_pct_below: '5' }).success).toBe(false);
  });

  it('tells a station below the rule once, to its town\'s group and the county\'s, with what to do', () => {
    const news = diskNews([row(2.46, 1234)], none, rules, targets);
    expect(kinds(news)).toEqual([[[['county', 'disk_low'], ['cg', 'disk_low']], { key: 'disk:s1', present: false }, [{ key: 'disk:s1', value: '2.46' }]]]);
    const notice = news[0]!.items[0]!.notice;
    expect(noticeText(notice, 'zh')).toBe('【磁盘将满】城关镇张家庄村的电脑磁盘只剩 2.4% 可用（1.2 GB）。请联系站点管理员清理电脑磁盘空间。');
    expect(noticeText(notice, 'en')).toBe("[Disk nearly full] 张家庄村 (城关镇): only 2.4% of the PC's disk is free (1.2 GB). Ask the station's administrator to free disk space.");
    expect(noticeText(diskNews([row(1, 850)], none, rules, targets)[0]!.items[0]!.notice, 'zh')).toContain('只剩 1% 可用（850 MB）');
    expect(noticeText(diskNews([row(1, null)], none, rules, targets)[0]!.items[0]!.notice, 'zh')).toContain('只剩 1% 可用。');
    // At the line is not below it.
    expect(diskNews([row(5)], none, rules, targets)).toEqual([]);
  });

  it('says nothing more while it holds, nor inside the band just above the rule', () => {
    expect(diskNews([row(2)], marked, rules, targets)).toEqual([]);
    expect(diskNews([row(0)], marked, rules, targets)).toEqual([]);
    expect(diskNews([row(6.9)], marked, rules, targets)).toEqual([]);
    // A heartbeat without the figure changes nothing either way.
    expect(diskNews([row(null)], marked, rules, targets)).toEqual([]);
    expect(diskNews([row(null)], none, rules, targets)).toEqual([]);
  });

  it('tells it freed once it is DISK_RECOVER_POINTS above the rule, and clears its mark', () => {
    const news = diskNews([row(7, 5000)], marked, rules, targets);
    expect(kinds(news)).toEqual([[[['county', 'disk_ok'], ['cg', 'disk_ok']], { key: 'disk:s1', present: true }, [{ key: 'disk:s1', value: null }]]]);
    expect(noticeText(news[0]!.items[0]!.notice, 'zh')).toBe('【磁盘已清理】城关镇张家庄村的电脑磁盘已有 7% 可用。');
    expect(noticeText(news[0]!.items[0]!.notice, 'en')).toBe("[Disk space freed] 张家庄村 (城关镇): 7% of the PC's disk is free again.");
    // Freed without ever having been told: no news.
    expect(diskNews([row(40)], none, rules, targets)).toEqual([]);
  });

  it('follows the configured rule, and says nothing at all at 0', () => {
    const r20 = NotifyRulesSchema.parse({ disk_free_pct_below: 20 });
    expect(diskNews([row(19)], none, r20, targets)).toHaveLength(1);
    expect(diskNews([row(21)], marked, r20, targets)).toEqual([]);
    expect(diskNews([row(22)], marked, r20, targets)).toHaveLength(1);
    const off = NotifyRulesSchema.parse({ disk_free_pct_below: 0 });
    expect(diskNews([row(0), row(0.5, 10, 's2')], none, off, targets)).toEqual([]);
    expect(diskNews([row(90)], marked, off, targets)).toEqual([]);
  });

  it('merges several stations of a town into one message naming each', () => {
    expect(summaryText('disk_low', 'zh', '城关镇', ['张家庄村', '李家湾村'])).toBe('【磁盘将满】城关镇有 2 个站点的电脑磁盘快满了：张家庄村、李家湾村。请联系各站点管理员清理电脑磁盘空间。');
    expect(summaryText('disk_ok', 'en', '城关镇', ['张家庄村'])).toBe("[Disk space freed] the PC's disk has room again at 1 station in 城关镇: 张家庄村.");
  });
});
