import { fill, type Lang, type Translate as WordsTranslate } from '../../protocol/words/index.js';
import { en, type MessageKey } from './en.js';
import { zh } from './zh.js';

export type { Lang, MessageKey };
export const CATALOGUES: Record<Lang, Record<MessageKey, string>> = { en, zh };

/** `--lang` wins; otherwise LC_ALL / LC_MESSAGES / LANG starting with zh selects Chinese. */
export function detectLang(explicit?: string, env: NodeJS.ProcessEnv = process.env): Lang {
  if (explicit === 'zh' || explicit === 'en') return explicit;
  const locale = env.LC_ALL || env.LC_MESSAGES || env.LANG || '';
  return locale.toLowerCase().startsWith('zh') ? 'zh' : 'en';
}

/** stationctl's translator: its own messages and the shared words (protocol/words). */
export type Translate = WordsTranslate<MessageKey>;

export function translator(lang: Lang): Translate {
  const catalogue = CATALOGUES[lang];
  return (key, params) => fill(catalogue[key], params);
}
