import { describe, expect, test } from 'vitest';
import type { DeviceState } from '../../drivers/types.js';
import { evaluateAlerts, type AlertDevice } from '../../agent/alerts.js';

const PROJ: AlertDevice = { id: 'proj', kind: 'projector', lamp_warn_hours: 3000, filter_warn_hours: 500, offline_warn_min: 10 };
const state = (p: Partial<DeviceState> = {}): DeviceState => ({
  id: 'proj',
  kind: 'projector',
  driver: 'pjlink',
  online: true,
  power: 'on',
  last_seen: null,
  errors: [],
  ...p,
});
const keys = (xs: Array<{ key: string }>) => xs.map((x) => x.key);

describe('evaluateAlerts', () => {
  test('lamp and filter hours raise at the threshold, once', () => {
    expect(evaluateAlerts(PROJ, state({ lamp_hours: 2999, filter_hours: 499 }), new Set())).toEqual({ raise: [], clear: [] });
    const r = evaluateAlerts(PROJ, state({ lamp_hours: 3000, filter_hours: 510 }), new Set());
    expect(keys(r.raise)).toEqual(['lamp:proj', 'filter:proj']);
    expect(r.raise[0]).toMatchObject({ type: 'lamp_warning', severity: 'warning', data: { lamp_hours: 3000, lamp_warn_hours: 3000 } });
    expect(evaluateAlerts(PROJ, state({ lamp_hours: 3100, filter_hours: 600 }), new Set(['lamp:proj', 'filter:proj']))).toEqual({ raise: [], clear: [] });
  });

  test('a reset counter (lamp replaced) clears the warning; unknown hours change nothing', () => {
    const r = evaluateAlerts(PROJ, state({ lamp_hours: 0 }), new Set(['lamp:proj']));
    expect(r.clear).toEqual([expect.objectContaining({ key: 'lamp:proj', type: 'lamp_warning_cleared' })]);
    expect(evaluateAlerts(PROJ, state({ lamp_hours: null }), new Set(['lamp:proj']))).toEqual({ raise: [], clear: [] });
    expect(evaluateAlerts({ ...PROJ, lamp_warn_hours: undefined }, state({ lamp_hours: 99_999 }), new Set()).raise).toEqual([]);
  });

  test('device faults raise per code and clear when the device no longer reports them', () => {
    const faults = [
      { code: 'lamp', severity: 'error' as const, text: 'lamp failure (ERST lamp=2)' },
      { code: 'fan', severity: 'warning' as const, text: 'fan warning' },
    ];
    const r = evaluateAlerts(PROJ, state({ errors: faults }), new Set());
    expect(keys(r.raise)).toEqual(['fault:proj:lamp', 'fault:proj:fan']);
    expect(r.raise[0]).toMatchObject({ type: 'device_fault', severity: 'error' });
    const later = evaluateAlerts(PROJ, state({ errors: [faults[1]!] }), new Set(['fault:proj:lamp', 'fault:proj:fan']));
    expect(later).toEqual({ raise: [], clear: [expect.objectContaining({ key: 'fault:proj:lamp', type: 'device_fault_cleared' })] });
  });

  test('offline: link faults are not device faults, and raised faults are kept until the device answers', () => {
    const offline = state({ online: false, errors: [{ code: 'link_lost', severity: 'error', text: 'link lost' }] });
    expect(evaluateAlerts(PROJ, offline, new Set(['fault:proj:lamp']))).toEqual({ raise: [], clear: [] });
    const auth = state({ online: false, errors: [{ code: 'auth_failed', severity: 'error', text: 'PJLink password rejected' }] });
    expect(keys(evaluateAlerts(PROJ, auth, new Set()).raise)).toEqual(['fault:proj:auth_failed']);
  });
});
