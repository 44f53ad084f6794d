/**
 * The repository stands alone: no file points outside it (the design, the protocol references and the
 * MediaMTX notes live in docs/), and every relative link in the Markdown resolves to a file that exists.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { PACKAGE_ROOT } from '../../agent/version.js';

const SKIP = new Set(['node_modules', 'dist', 'out', '.git', 'coverage']);
const TEXT = /\.(ts|js|cjs|mjs|json|md|ya?ml|sh|service|conf|txt|rules|acl)$|^run$/;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    if (SKIP.has(name)) return [];
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return files(path);
    return TEXT.test(name) ? [path] : [];
  });
}

const all = files(PACKAGE_ROOT);

describe('the repository stands alone', () => {
  it('has text files to check', () => {
    expect(all.some((f) => f.endsWith('docs/design.md'))).toBe(true);
    expect(all.length).toBeGreaterThan(100);
  });

  it('no file points outside the repository', () => {
    const outside = /\.\.\/shared\b|\/work\/(main|shared|wt)\b|DESIGN\.md/;
    const offenders = all
      .filter((f) => !f.endsWith('self-contained.test.ts'))
      .flatMap((f) =>
        readFileSync(f, 'utf8')
          .split('\n')
          .flatMap((line, i) => (outside.test(line) ? [`${relative(PACKAGE_ROOT, f)}:${i + 1}: ${line.trim()}`] : [])),
      );
    expect(offenders).toEqual([]);
  });

  it('every relative link in the Markdown files resolves', () => {
    const broken: string[] = [];
    for (const f of all.filter((x) => x.endsWith('.md'))) {
      const text = readFileSync(f, 'utf8').replace(/```[\s\S]*?```/g, '');
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1]!.split('#')[0]!;
        if (target === '' || /^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
        if (!existsSync(resolve(dirname(f), decodeURIComponent(target)))) broken.push(`${relative(PACKAGE_ROOT, f)} → ${m[1]}`);
      }
    }
    expect(broken).toEqual([]);
  });
});
