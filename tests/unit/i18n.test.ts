import { describe, it, expect } from 'vitest';
import { CATALOGUES, detectLang, translator } from '../../agent/i18n/index.js';
import { renderTable, pad } from '../../protocol/table.js';
import stringWidth from 'string-width';

describe('i18n', () => {
  it('has the same keys in both catalogues, none empty', () => {
    const en = Object.keys(CATALOGUES.en).sort();
    const zh = Object.keys(CATALOGUES.zh).sort();
    expect(zh).toEqual(en);
    for (const lang of ['en', 'zh'] as const) {
      for (const [k, v] of Object.entries(CATALOGUES[lang])) expect(v.trim(), `${lang} ${k}`).not.toBe('');
    }
  });

  it('uses the same placeholders in both languages', () => {
    const names = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    for (const key of Object.keys(CATALOGUES.en) as Array<keyof typeof CATALOGUES.en>) {
      expect(names(CATALOGUES.zh[key]), key).toEqual(names(CATALOGUES.en[key]));
    }
  });

  it('translates Chinese messages with no ASCII words left in them', () => {
    // Catches a key copied from English and never translated (codes and units may stay).
    const allowed = /^(LED|ID|MQTT|CA|TLS|JSON|CSV|ok|h|s|dB|PJLink|MediaMTX|CEC)$/;
    for (const [k, v] of Object.entries(CATALOGUES.zh)) {
      const words = v.replace(/\{\w+\}/g, '').match(/[A-Za-z]{2,}/g) ?? [];
      expect(words.filter((w) => !allowed.test(w)), k).toEqual([]);
    }
  });

  it('picks the language from --lang, then LC_ALL/LC_MESSAGES/LANG', () => {
    expect(detectLang('en', { LANG: 'zh_CN.UTF-8' })).toBe('en');
    expect(detectLang(undefined, { LANG: 'zh_CN.UTF-8' })).toBe('zh');
    expect(detectLang(undefined, { LC_ALL: 'en_US.UTF-8', LANG: 'zh_CN.UTF-8' })).toBe('en');
    expect(detectLang(undefined, {})).toBe('en');
  });

  it('fills placeholders', () => {
    expect(translator('zh')('status.county_connected', { depth: 3 })).toBe('已连接，待上报记录 3 条');
  });
});

describe('tables', () => {
  it('aligns Chinese by display width and never exceeds 80 columns', () => {
    const out = renderTable(
      ['编号', '类型', '详情'],
      [
        ['projector', '投影机', '灯泡 1200 小时，输入 31，信号 是，'.repeat(5)],
        ['amp', '功放', '音量 40'],
      ],
    );
    const lines = out.split('\n');
    for (const l of lines) expect(stringWidth(l)).toBeLessThanOrEqual(80);
    // The third column starts at the same display column on every line.
    const col = (l: string) => stringWidth(l.slice(0, l.indexOf(l.includes('详情') ? '详情' : l.includes('灯泡') ? '灯泡' : l.includes('音量') ? '音量' : '-', 12)));
    expect(new Set([col(lines[0]!), col(lines[2]!), col(lines[3]!)]).size).toBe(1);
    expect(lines[2]).toContain('…');
  });

  it('pads by display width', () => {
    expect(stringWidth(pad('投影', 6))).toBe(6);
    expect(pad('ab', 4)).toBe('ab  ');
  });
});
