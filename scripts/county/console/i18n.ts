/**
 * The console's zh/en messages, the same catalogue approach as agent/i18n: one typed key set, `{name}`
 * parameters. Chinese by default (the county office); English by the switch in the header.
 *
 * Names of what stations send (device kinds, power states, event types, severities, session triggers)
 * come from the agent's own catalogue, so a clerk reads the words a technician reads in stationctl.
 */
import { CATALOGUES, type MessageKey } from '../../../agent/i18n/index.js';
import { consoleEn, type OwnConsoleKey } from './i18n-en.js';
import { consoleZh } from './i18n-zh.js';

export type Lang = 'zh' | 'en';

const SHARED_PREFIXES = ['kind', 'power', 'severity', 'event', 'trigger'] as const;
type SharedKey = Extract<MessageKey, `${(typeof SHARED_PREFIXES)[number]}.${string}`>;
export type ConsoleKey = OwnConsoleKey | SharedKey;

function shared(lang: Lang): Record<SharedKey, string> {
  const prefix = new RegExp(`^(${SHARED_PREFIXES.join('|')})\\.`);
  return Object.fromEntries(Object.entries(CATALOGUES[lang]).filter(([k]) => prefix.test(k))) as Record<SharedKey, string>;
}

export const CONSOLE_CATALOGUES: Record<Lang, Record<ConsoleKey, string>> = {
  en: { ...shared('en'), ...consoleEn },
  zh: { ...shared('zh'), ...consoleZh },
};

export type T = (key: ConsoleKey, params?: Record<string, string | number>) => string;

export function consoleTranslator(lang: Lang): T {
  const catalogue = CONSOLE_CATALOGUES[lang];
  return (key, params) => {
    const text = catalogue[key];
    return params ? text.replace(/\{(\w+)\}/g, (m, name: string) => (name in params ? String(params[name]) : m)) : text;
  };
}

/** A translated label for a value from a closed set (`kind.projector`), or the value itself when unknown. */
export function label(t: T, prefix: 'kind' | 'power' | 'severity' | 'event' | 'trigger' | 'state' | 'role' | 'action', value: string | null | undefined): string {
  if (value === null || value === undefined) return t('none');
  const key = `${prefix}.${value}`;
  return Object.hasOwn(CONSOLE_CATALOGUES.en, key) ? t(key as ConsoleKey) : value;
}

export const isLang = (v: unknown): v is Lang => v === 'zh' || v === 'en';
