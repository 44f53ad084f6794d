/**
 * The county and the tools build and read MQTT topics only through Topics / FleetTopics
 * (protocol/topics.ts), so a change of the topic layout lands in one file. This scans every TypeScript
 * file under county/ and scripts/ for a topic put together or taken apart by hand.
 */
import { describe, it, expect } from 'vitest';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..', '..');

const KINDS = '(?:status|ack|heartbeat|usage|events|inventory|request|response|devices)';
const HAND_BUILT: Array<{ why: string; re: RegExp }> = [
  // `${prefix}/${station}/ack`, `${base}/devices/${id}/state` (not /proc/<pid>/status).
  { why: 'topic built with a template literal', re: new RegExp(`(?<!/proc/)\\$\\{[^}]*\\}/${KINDS}\\b`) },
  // base + '/ack', topic.endsWith('/usage'), `x === '/heartbeat'`.
  { why: 'topic level as a string literal', re: new RegExp(`['"\`]/${KINDS}(?:/|['"\`])`) },
  // '+/usage', `${p}/+/#`, 'stations/+/status': a wildcard filter written out.
  { why: 'wildcard filter written by hand', re: /['"`][^'"`\n]*\/[+#](?:\/|['"`])/ },
  // topic.split('/')[2], topic.slice(n).split('/'): a topic taken apart by position.
  { why: 'topic split by hand', re: /\btopic\w*\b[^;\n]*?\.split\(\s*['"]\/['"]\s*\)/i },
];

/** The code of a file without comments (a comment may show a topic), keeping strings intact. */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
}

function handBuiltTopics(text: string): string[] {
  const found: string[] = [];
  code(text)
    .split('\n')
    .forEach((line, i) => {
      for (const { why, re } of HAND_BUILT) if (re.test(line)) found.push(`${i + 1}: ${why}: ${line.trim()}`);
    });
  return found;
}

function tsFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const rel = `${dir}/${name}`;
    if (statSync(join(ROOT, rel)).isDirectory()) return tsFiles(rel);
    return name.endsWith('.ts') ? [rel] : [];
  });
}

describe('the county and the tools build topics only through Topics', () => {
  it('the detector sees topics built by hand, and not look-alikes', () => {
    for (const bad of [
      'client.publish(`${prefix}/${station}/ack`, x);',
      'c.subscribe([`${s.base}/ack`, `${s.base}/request/+`]);',
      "const t = base + '/heartbeat';",
      "if (topic.endsWith('/usage')) n++;",
      "sub.subscribe('stations/+/status');",
      'await client.subscribeAsync([`${p}/+/#`]);',
      "const kind = topic.split('/')[2];",
      "const parts = topic.slice(prefix.length + 1).split('/');",
      'x.publish(`${s.base}/devices/${d.id}/state`, y);',
    ]) {
      expect(handBuiltTopics(bad), bad).not.toEqual([]);
    }
    for (const fine of [
      'const t = readFileSync(`/proc/${pid}/status`, "utf8");',
      'client.publish(fleet.station(station).ack, payload);',
      '// publishes `${prefix}/${station}/ack`',
      "const url = 'mqtt://127.0.0.1:1883';",
      "const glob = join(dir, 'x');",
    ]) {
      expect(handBuiltTopics(fine), fine).toEqual([]);
    }
  });

  it('no file under county/ or scripts/ puts a topic together or apart by hand', () => {
    const files = [...tsFiles('county'), ...tsFiles('scripts')];
    expect(files.filter((f) => f.startsWith('county/')).length).toBeGreaterThan(30);
    const bad: string[] = [];
    for (const file of files) {
      for (const hit of handBuiltTopics(readFileSync(join(ROOT, file), 'utf8'))) bad.push(`${file}:${hit}`);
    }
    expect(bad).toEqual([]);
  });
});
