/**
 * RFC 4180 CSV. With `bom`, a UTF-8 byte order mark leads: Excel on a Chinese Windows PC (what the
 * town office opens the hand-in with) otherwise reads UTF-8 as GBK and shows mojibake.
 */
export function toCsv(headers: string[], rows: Array<Array<string | number | boolean | null | undefined>>, options: { bom?: boolean } = {}): string {
  const cell = (v: string | number | boolean | null | undefined): string => {
    const s = v === null || v === undefined ? '' : String(v);
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  const lines = [headers, ...rows].map((r) => r.map(cell).join(','));
  return `${options.bom ? '\uFEFF' : ''}${lines.join('\r\n')}`;
}
