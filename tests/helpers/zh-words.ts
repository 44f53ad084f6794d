/**
 * Internal codes that must never reach a clerk's Chinese page (issue 22: `schedule.set`, `cron`,
 * `Asia/Shanghai` …): command and error codes, wire field names, IANA zone names, JavaScript's own words
 * for a missing value, and catalogue parameters left unfilled. Scanned in the page's visible text, leaving
 * out what is marked as the station's own words (站点原文, shown as the station sent it, on purpose).
 */
import type { Page } from 'playwright-core';

export const INTERNAL_WORDS =
  /schedule\.(set|list|run)|sessions\.(resend|list)|device\.[a-z]+|\bcron\b|\b(Asia|Europe|America|Africa|Australia|Pacific|Etc)\/[A-Za-z_]+|\bUTC\b|not_allowed|invalid_args|bad_signature|not_found|wait_for|duration_min|timeout_s|\bundefined\b|\bnull\b|\bNaN\b|\[object |\{[a-z_]+\}/g;

/** The internal codes in `text` (empty when there are none). */
export function internalWords(text: string): string[] {
  return [...new Set(text.match(INTERNAL_WORDS) ?? [])];
}

/** The page's visible text, without the station's own words, and the internal codes found in it. */
export async function pageInternalWords(page: Page): Promise<string[]> {
  // Runs in the page (a string: this project compiles without the DOM's types).
  const text = (await page.evaluate(`(() => {
    const body = document.body.cloneNode(true);
    body.querySelectorAll('.own, script, template, datalist').forEach((e) => e.remove());
    document.body.appendChild(body);
    body.style.position = 'absolute';
    const text = body.innerText;
    body.remove();
    return text;
  })()`)) as string;
  return internalWords(text);
}
