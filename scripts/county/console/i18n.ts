/**
 * The console's zh/en messages, the same catalogue approach as agent/i18n: one typed key set, `{name}`
 * parameters. Chinese by default (the county office); English by the switch in the header.
 */
import { consoleEn, type ConsoleKey } from './i18n-en.js';
import { consoleZh } from './i18n-zh.js';

export type Lang = 'zh' | 'en';
export type { ConsoleKey };
export const CONSOLE_CATALOGUES: Record<Lang, Record<ConsoleKey, string>> = { en: consoleEn, zh: consoleZh };

export type T = (key: ConsoleKey, params?: Record<string, string | number>) => string;

export function consoleTranslator(lang: Lang): T {
  const catalogue = CONSOLE_CATALOGUES[lang];
  return (key, params) => {
    const text = catalogue[key];
    return params ? text.replace(/\{(\w+)\}/g, (m, name: string) => (name in params ? String(params[name]) : m)) : text;
  };
}

/** A translated label for a value from a closed set (`kind.projector`), or the value itself when unknown. */
export function label(t: T, prefix: 'kind' | 'power' | 'severity' | 'event' | 'state' | 'role' | 'action', value: string | null | undefined): string {
  if (value === null || value === undefined) return t('none');
  const key = `${prefix}.${value}` as ConsoleKey;
  return key in consoleEn ? t(key) : value;
}

export const isLang = (v: unknown): v is Lang => v === 'zh' || v === 'en';
