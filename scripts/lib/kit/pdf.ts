/**
 * A PDF's text page by page, for the tests that print console pages (the monthly 通报): Debian's
 * pdftotext (poppler-utils, installed by scripts/install-test-tools.sh) with -layout, so a table row stays
 * one line; pages are split on the form feed it writes after each page.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { removeDir, tempDir } from './temp.js';

export async function pdfPages(pdf: Buffer): Promise<string[]> {
  const dir = tempDir('kit-pdf-');
  try {
    const file = join(dir, 'doc.pdf');
    writeFileSync(file, pdf);
    const { stdout } = await promisify(execFile)('pdftotext', ['-layout', '-enc', 'UTF-8', file, '-'], { maxBuffer: 64 * 1024 * 1024 });
    const pages = stdout.split('\f');
    // pdftotext ends the last page with a form feed too.
    if (pages.at(-1)?.trim() === '') pages.pop();
    return pages;
  } finally {
    removeDir(dir);
  }
}
