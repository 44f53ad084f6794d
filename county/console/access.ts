/**
 * Who may see and do what, in one place. Every route asks here; nothing is only hidden in a page.
 *
 * | role     | sees                         | pushes schedules to, acknowledges and clears visit items of | notifications page      | accounts, audit log |
 * |----------|------------------------------|-------------------------------------------------------------|-------------------------|---------------------|
 * | viewer   | every station                | —                                                           | what was sent (history) | —                   |
 * | operator | every station                | every station                                               | all, test message       | —                   |
 * | town     | the stations of its town     | the same                                                    | —                       | —                   |
 * | admin    | every station                | every station                                               | all, test message       | yes                 |
 *
 * A station belongs to the town its inventory names (`stations.town`), the same field the fleet and
 * monthly pages group by. A town account sees no station without a town. The notifications page is not a
 * town account's: its history and targets name every town's groups and stations (notify-routes.ts). The routes' guards over this
 * table (a station page, a town filter, a push's targets, a visit item's station): guard.ts.
 */
import type { Role } from './account-records.js';

/** The part of a sign-in authorization needs (a SignIn is one). */
export interface Principal {
  user: string;
  role: Role;
  town: string | null;
}

export interface Scope {
  /** null: every station; otherwise only the stations whose town is in the set. */
  towns: ReadonlySet<string> | null;
  canPush: boolean;
  /** Acknowledges and clears visit items (POST /visit), of the stations it sees. */
  canHandleVisits: boolean;
  canManageAccounts: boolean;
  canReadAudit: boolean;
  /** The group notifications page (notify-routes.ts): `all` with the targets, queue and test button, `history` what was sent. */
  notifications: 'none' | 'history' | 'all';
}

const NOTHING: Scope = { towns: new Set(), canPush: false, canHandleVisits: false, canManageAccounts: false, canReadAudit: false, notifications: 'none' };

/** What `p` may see and do; nothing at all when signed out. */
export function scopeOf(p: Principal | undefined): Scope {
  if (!p) return NOTHING;
  switch (p.role) {
    case 'viewer':
      return { towns: null, canPush: false, canHandleVisits: false, canManageAccounts: false, canReadAudit: false, notifications: 'history' };
    case 'operator':
      return { towns: null, canPush: true, canHandleVisits: true, canManageAccounts: false, canReadAudit: false, notifications: 'all' };
    case 'admin':
      return { towns: null, canPush: true, canHandleVisits: true, canManageAccounts: true, canReadAudit: true, notifications: 'all' };
    case 'town':
      // A town account without a town (a file edited by hand) sees nothing rather than everything.
      return { towns: new Set(p.town === null ? [] : [p.town]), canPush: true, canHandleVisits: true, canManageAccounts: false, canReadAudit: false, notifications: 'none' };
  }
}

export const seesTown = (scope: Scope, town: string | null): boolean => scope.towns === null || (town !== null && scope.towns.has(town));
export const seesStation = (scope: Scope, s: { town: string | null }): boolean => seesTown(scope, s.town);
/** The rows `scope` may see (stations, fleet rows, monthly rows: anything with a town). */
export const visible = <R extends { town: string | null }>(scope: Scope, rows: readonly R[]): R[] => (scope.towns === null ? [...rows] : rows.filter((r) => seesStation(scope, r)));
/** The towns for a store filter: undefined for every station. */
export const scopeTowns = (scope: Scope): string[] | undefined => (scope.towns === null ? undefined : [...scope.towns]);
