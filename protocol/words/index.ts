/**
 * The words both products show for what a station sends, in zh and en, with `{name}` parameters. The
 * agent's catalogue (agent/i18n) and the console's (county/console/i18n) each add these to their own.
 */
import { wordsEn } from './en.js';
import { wordsZh } from './zh.js';

export type Lang = 'zh' | 'en';
export type WordKey = keyof typeof wordsEn;
export const WORDS: Record<Lang, Record<WordKey, string>> = { en: wordsEn, zh: wordsZh };

/** Fills a catalogue text's `{name}` parameters; a parameter not given stays as written. */
export function fill(text: string, params: Record<string, string | number> = {}): string {
  return text.replace(/\{(\w+)\}/g, (m, name: string) => (name in params ? String(params[name]) : m));
}

/** A function from a word's key to its text; the agent's and the console's translators are ones too. */
export type Translate<K extends string = WordKey> = (key: K, params?: Record<string, string | number>) => string;

export function wordsTranslator(lang: Lang): Translate {
  const catalogue = WORDS[lang];
  return (key, params) => fill(catalogue[key], params);
}
