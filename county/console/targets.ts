/**
 * Which stations a push goes to: one station (found by its name or its id), one town, or every station,
 * always within the towns the signed-in account may push to (`scope`; undefined: every town). Pure
 * functions over the store's station rows, so the form, the confirmation and the send resolve the same
 * stations from the same choice.
 */
import type { StationRow } from '../store.js';
import type { FormProblem } from './i18n.js';

export const TARGET_KINDS = ['station', 'town', 'all'] as const;
export type TargetKind = (typeof TARGET_KINDS)[number];

/** What the clerk chose: `station` is what was typed or picked (a name, an id, or "name（id）"). */
export interface TargetChoice {
  kind: TargetKind | '';
  station: string;
  town: string;
}

export type StationRef = Pick<StationRow, 'station_id' | 'name' | 'town' | 'timezone'>;

/** The towns an account may push to; undefined: every town (and stations without one). */
export type TownScope = ReadonlySet<string | null> | undefined;

export type Resolved =
  | { ok: true; kind: TargetKind; stations: StationRef[]; town: string | null }
  /** `matches`: several stations fit what was typed; the clerk picks one. */
  | { ok: false; problem?: FormProblem; matches?: StationRef[] };

/** A list of matches is cut here: typing more narrows it. */
export const MAX_MATCHES = 30;

export function inScope(stations: readonly StationRef[], scope: TownScope): StationRef[] {
  return scope === undefined ? [...stations] : stations.filter((s) => scope.has(s.town));
}

/** The towns to offer, in the store's order (stations without a town are reached one by one or as all). */
export function townsOf(stations: readonly StationRef[]): string[] {
  return [...new Set(stations.map((s) => s.town).filter((t): t is string => t !== null))];
}

const ID_IN_BRACKETS = /[（(]\s*([a-z0-9][a-z0-9_-]{0,63})\s*[）)]\s*$/;

/**
 * Stations that fit what was typed: an exact id or name (or "name（id）", as the suggestions read) is
 * the one; otherwise every station whose id or name contains it, case aside.
 */
export function findStations(stations: readonly StationRef[], typed: string): StationRef[] {
  const text = typed.trim();
  if (text === '') return [];
  const exact = exactStations(stations, text);
  if (exact.length) return exact;
  const needle = text.toLowerCase();
  return stations.filter((s) => s.station_id.toLowerCase().includes(needle) || (s.name ?? '').toLowerCase().includes(needle));
}

/** The stations `text` names exactly: by id, by name, or as "name（id）". */
function exactStations(stations: readonly StationRef[], text: string): StationRef[] {
  const bracketed = ID_IN_BRACKETS.exec(text)?.[1];
  return stations.filter((s) => s.station_id === text || s.station_id === bracketed || (s.name !== null && s.name === text));
}

/**
 * The stations outside `scope` that a choice names exactly: another town's (every station of it), or a
 * station by its id or name. What a town account may be told is not its own (a refusal), where a search
 * that only contains the text says nothing of other towns.
 */
export function outsideScope(all: readonly StationRef[], choice: TargetChoice, scope: TownScope): StationRef[] {
  if (scope === undefined) return [];
  const outside = all.filter((s) => !scope.has(s.town));
  if (choice.kind === 'town') return choice.town === '' ? [] : outside.filter((s) => s.town === choice.town);
  if (choice.kind === 'station') return choice.station.trim() === '' ? [] : exactStations(outside, choice.station.trim());
  return [];
}

/** The stations of a choice, or why there are none (several matches are a question, not an error). */
export function resolveTargets(all: readonly StationRef[], choice: TargetChoice, scope?: TownScope): Resolved {
  const stations = inScope(all, scope);
  switch (choice.kind) {
    case 'station': {
      const found = findStations(stations, choice.station);
      if (found.length === 1) return { ok: true, kind: 'station', stations: found, town: found[0]!.town };
      if (found.length === 0) return { ok: false, problem: choice.station.trim() ? { key: 'pick.none', params: { q: choice.station.trim() } } : { key: 'form.no_target' } };
      return { ok: false, matches: found.slice(0, MAX_MATCHES) };
    }
    case 'town': {
      const town = choice.town;
      const inTown = town === '' ? [] : stations.filter((s) => s.town === town);
      return inTown.length ? { ok: true, kind: 'town', stations: inTown, town } : { ok: false, problem: { key: town === '' ? 'form.no_target' : 'form.no_targets' } };
    }
    case 'all':
      return stations.length ? { ok: true, kind: 'all', stations, town: null } : { ok: false, problem: { key: 'form.no_targets' } };
    default:
      return { ok: false, problem: { key: 'form.no_target' } };
  }
}

/** The choice that names exactly these resolved stations again (a station by its id, not by what was typed). */
export function canonicalChoice(r: Extract<Resolved, { ok: true }>): TargetChoice {
  return { kind: r.kind, station: r.kind === 'station' ? r.stations[0]!.station_id : '', town: r.kind === 'town' ? (r.town ?? '') : '' };
}

/** What a push row keeps of how its stations were chosen (PushRow.target): the history says it in words. */
export interface StoredTarget {
  kind: TargetKind;
  town?: string;
  station?: string;
}

export function storedTarget(r: Extract<Resolved, { ok: true }>): string {
  const t: StoredTarget = r.kind === 'town' ? { kind: 'town', town: r.town ?? '' } : r.kind === 'station' ? { kind: 'station', station: r.stations[0]!.station_id } : { kind: 'all' };
  return JSON.stringify(t);
}

export function readStoredTarget(text: string | null | undefined): StoredTarget | null {
  if (!text) return null;
  try {
    const v = JSON.parse(text) as Record<string, unknown>;
    if (v['kind'] !== 'station' && v['kind'] !== 'town' && v['kind'] !== 'all') return null;
    return {
      kind: v['kind'],
      ...(typeof v['town'] === 'string' ? { town: v['town'] } : {}),
      ...(typeof v['station'] === 'string' ? { station: v['station'] } : {}),
    };
  } catch {
    return null;
  }
}

/** Stations per town, in first-seen order (the confirmation names every town and its count). */
export function townCounts(stations: readonly StationRef[]): Array<{ town: string | null; n: number }> {
  const counts = new Map<string | null, number>();
  for (const s of stations) counts.set(s.town, (counts.get(s.town) ?? 0) + 1);
  return [...counts].map(([town, n]) => ({ town, n }));
}
