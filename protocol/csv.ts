/**
 * The one CSV writer (RFC 4180) of stationctl, the agent's hand-in CSV and the county's reports and
 * console downloads. With `bom`, a UTF-8 byte order mark leads: Excel on a Chinese Windows PC (what the
 * town office opens the hand-in with) otherwise reads UTF-8 as GBK and shows mojibake.
 */
export type CsvValue = string | number | boolean | null | undefined;

/**
 * One field. Text a person typed (a session note, a station name) must not become a spreadsheet formula
 * when the office opens the file, so text starting with = + - @ TAB or CR gets a leading apostrophe
 * (OWASP "CSV injection"); numbers, and text that is only a number, stay as they are.
 */
export function csvCell(v: CsvValue): string {
  let s = v === null || v === undefined ? '' : String(v);
  if (typeof v === 'string' && /^[=+\-@\t\r]/.test(s) && !/^[+-]?\d+(\.\d+)?$/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export interface CsvOptions {
  /** Lead with a UTF-8 BOM (for Excel). */
  bom?: boolean;
  /** Line end: CRLF (RFC 4180, default) or LF. */
  eol?: '\r\n' | '\n';
  /** End the last row with `eol` too. */
  trailingEol?: boolean;
}

export function toCsv(headers: readonly string[], rows: ReadonlyArray<readonly CsvValue[]>, options: CsvOptions = {}): string {
  const eol = options.eol ?? '\r\n';
  const lines = [headers, ...rows].map((r) => r.map(csvCell).join(','));
  return `${options.bom ? '\uFEFF' : ''}${lines.join(eol)}${options.trailingEol ? eol : ''}`;
}
