import stringWidth from 'string-width';

/** Pads by display width, so Chinese (double-width) text lines up in a terminal. */
export function pad(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - stringWidth(text)));
}

export function truncate(text: string, width: number): string {
  if (stringWidth(text) <= width) return text;
  let out = '';
  for (const ch of text) {
    if (stringWidth(out + ch) > width - 1) break;
    out += ch;
  }
  return `${out}…`;
}

/**
 * An aligned table. The last column absorbs what remains of `maxWidth` (80 by default) and is
 * truncated, so a table never wraps on a technician's 80-column terminal.
 */
export function renderTable(headers: string[], rows: string[][], maxWidth = 80, columnMax: Array<number | undefined> = []): string {
  const widths = headers.map((h, i) =>
    Math.min(columnMax[i] ?? Infinity, Math.max(stringWidth(h), ...rows.map((r) => stringWidth(r[i] ?? '')))),
  );
  const fixed = widths.slice(0, -1).reduce((a, b) => a + b + 2, 0);
  const last = widths.length - 1;
  widths[last] = Math.max(stringWidth(headers[last] ?? ''), Math.min(widths[last] ?? 0, maxWidth - fixed));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === last ? truncate(c, widths[i]!) : pad(truncate(c, widths[i]!), widths[i]!)))
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(headers), rule, ...rows.map(line)].join('\n');
}

/**
 * Wraps by display width: breaks at a space when the line has one, anywhere between CJK characters
 * (Chinese has no spaces), and hard-breaks a word longer than the line (a long device path).
 */
export function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  for (const para of text.split('\n')) {
    let line = '';
    let lastSpace = -1;
    for (const ch of para) {
      if (stringWidth(line + ch) > width) {
        if (ch === ' ') {
          out.push(line.trimEnd());
          line = '';
          lastSpace = -1;
          continue;
        }
        const prev = [...line].pop() ?? '';
        const cjk = stringWidth(ch) > 1 || stringWidth(prev) > 1;
        if (!cjk && lastSpace > 0 && stringWidth(line.slice(0, lastSpace)) >= width / 3) {
          out.push(line.slice(0, lastSpace).trimEnd());
          line = line.slice(lastSpace + 1);
        } else {
          out.push(line);
          line = '';
        }
        lastSpace = -1;
        for (let i = 0; i < line.length; i++) if (line[i] === ' ') lastSpace = i;
      }
      if (ch === ' ') lastSpace = line.length;
      line += ch;
    }
    out.push(line.trimEnd());
  }
  return out;
}
