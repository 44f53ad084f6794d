/** Adds `"historical":true` to a stored payload (always a JSON object) without re-serialising it. */
export function markHistorical(text: string): string {
  const body = text.trimEnd();
  return body.endsWith('{}') ? '{"historical":true}' : `${body.slice(0, -1)},"historical":true}`;
}
