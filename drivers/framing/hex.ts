/** Raw frames are logged at trace level as spaced hex ("02 00 00 00 00 02"), capped so a flood cannot bloat logs. */
export function toHex(data: Uint8Array, max = 256): string {
  const n = Math.min(data.length, max);
  let s = '';
  for (let i = 0; i < n; i++) s += (i ? ' ' : '') + data[i]!.toString(16).padStart(2, '0');
  return data.length > max ? `${s} …(+${data.length - max})` : s;
}
