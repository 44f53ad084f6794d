import { en, type MessageKey } from './en.js';
import { zh } from './zh.js';

export type Lang = 'zh' | 'en';
export type { MessageKey };
export const CATALOGUES: Record<Lang, Record<MessageKey, string>> = { en, zh };

/** `--lang` wins; otherwise LC_ALL / LC_MESSAGES / LANG starting with zh selects Chinese. */
export function detectLang(explicit?: string, env: NodeJS.ProcessEnv = process.env): Lang {
  if (explicit === 'zh' || explicit === 'en') return explicit;
  const locale = env.LC_ALL || env.LC_MESSAGES || env.LANG || '';
  return locale.toLowerCase().startsWith('zh') ? 'zh' : 'en';
}

export type Translate = (key: MessageKey, params?: Record<string, string | number>) => string;

export function translator(lang: Lang): Translate {
  const catalogue = CATALOGUES[lang];
  return (key, params = {}) => catalogue[key].replace(/\{(\w+)\}/g, (m, name: string) => (name in params ? String(params[name]) : m));
}
