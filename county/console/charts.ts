/**
 * Chart descriptions the page embeds as JSON and /static/console.js turns into ECharts options. Axis
 * labels are formatted on the server, in the station's time zone: ECharts' time axis would use the
 * browser's zone, which on a county PC may not be the station's.
 */
import { html, jsonBlock, type Html } from './html.js';

export interface ChartSpec {
  type: 'line' | 'bar';
  title: string;
  labels: string[];
  /** Series with the same `stack` are stacked. */
  series: Array<{ name: string; data: Array<number | null>; stack?: string }>;
  /** Horizontal bars (long category names such as stations). */
  horizontal?: boolean;
}

let counter = 0;

/**
 * A chart container plus its data block; the client script finds it by `data-chart` and sets its height
 * from `data-height` (the CSP allows no inline style attribute).
 */
export function chart(spec: ChartSpec, size: 'small' | 'wide' | 'tall' = 'wide'): Html {
  const id = `chart-${++counter}`;
  const height = size === 'tall' ? Math.max(240, 28 * spec.labels.length + 80) : size === 'small' ? 220 : 300;
  return html`<figure class="chart ${size}"><div class="chart-box" data-chart="${id}" data-height="${Math.min(4000, height)}" role="img" aria-label="${spec.title}"></div>${jsonBlock(id, spec)}</figure>`;
}
