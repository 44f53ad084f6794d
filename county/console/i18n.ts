/**
 * The console's zh/en messages, the same catalogue approach as agent/i18n: one typed key set, `{name}`
 * parameters. Chinese by default (the county office); English by the switch in the header.
 *
 * Names of what stations send (device kinds, power states, event types, severities, session triggers)
 * come from the shared words (protocol/words), so a clerk reads the words a technician reads in stationctl.
 */
import { fill, WORDS, type Lang, type WordKey } from '../../protocol/words/index.js';
import { accountsEn, type AccountsKey } from './i18n-accounts-en.js';
import { accountsZh } from './i18n-accounts-zh.js';
import { consoleEn, type OwnConsoleKey } from './i18n-en.js';
import { pushEn, type PushKey } from './i18n-push-en.js';
import { pushZh } from './i18n-push-zh.js';
import { consoleZh } from './i18n-zh.js';

export type { Lang };
export type ConsoleKey = OwnConsoleKey | AccountsKey | PushKey | WordKey;

export const CONSOLE_CATALOGUES: Record<Lang, Record<ConsoleKey, string>> = {
  en: { ...WORDS.en, ...consoleEn, ...accountsEn, ...pushEn },
  zh: { ...WORDS.zh, ...consoleZh, ...accountsZh, ...pushZh },
};

export type T = (key: ConsoleKey, params?: Record<string, string | number>) => string;

/** A message to show (a form's problem, a note): its key and parameters, put in words by the page. */
export interface FormProblem {
  key: ConsoleKey;
  params?: Record<string, string | number>;
}

/** English nouns the catalogue counts, and their singular: "1 stations" reads wrong. */
const SINGULAR: Record<string, string> = { stations: 'station', records: 'record', days: 'day', rows: 'row', steps: 'step' };
const ONE_OF = new RegExp(`(^|[^\\d.,])1 (${Object.keys(SINGULAR).join('|')})\\b`, 'g');

/** English with a count of one in the singular (Chinese has no plural). */
export function singularOne(text: string): string {
  return text.replace(ONE_OF, (_m, before: string, noun: string) => `${before}1 ${SINGULAR[noun]}`);
}

export function consoleTranslator(lang: Lang): T {
  const catalogue = CONSOLE_CATALOGUES[lang];
  return lang === 'en' ? (key, params) => singularOne(fill(catalogue[key], params)) : (key, params) => fill(catalogue[key], params);
}

/** A translated label for a value from a closed set (`kind.projector`), or the value itself when unknown. */
export function label(t: T, prefix: 'kind' | 'power' | 'severity' | 'event' | 'trigger' | 'state' | 'role' | 'action', value: string | null | undefined): string {
  if (value === null || value === undefined) return t('none');
  const key = `${prefix}.${value}`;
  return Object.hasOwn(CONSOLE_CATALOGUES.en, key) ? t(key as ConsoleKey) : value;
}

export const isLang = (v: unknown): v is Lang => v === 'zh' || v === 'en';
