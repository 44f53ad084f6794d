/**
 * A fresh Debian root made with `debootstrap --variant=minbase` (no Node, no compiler): where the
 * package test and the install measurement run `dpkg -i`. debootstrap uses the mirror apt on this machine
 * uses (/etc/apt/sources.list*). The root is made once and kept as a tarball in the build cache; each
 * use unpacks a fresh copy (under a second, against about half a minute for debootstrap).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export interface SourceFile {
  path: string;
  text: string;
}

interface Entry {
  types: string[];
  uris: string[];
  suites: string[];
  components: string[];
  enabled: boolean;
}

function oneLineEntries(text: string): Entry[] {
  const out: Entry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) continue;
    // deb [arch=amd64 signed-by=…] URI suite component…
    const m = /^(deb|deb-src)\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s*(.*)$/.exec(line);
    if (m) out.push({ types: [m[1]!], uris: [m[2]!], suites: [m[3]!], components: m[4]!.split(/\s+/).filter(Boolean), enabled: true });
  }
  return out;
}

function deb822Entries(text: string): Entry[] {
  const out: Entry[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    let last = '';
    for (const raw of stanza.split('\n')) {
      if (raw.startsWith('#')) continue;
      if (/^\s/.test(raw) && last) {
        fields.set(last, `${fields.get(last)} ${raw.trim()}`);
        continue;
      }
      const m = /^([A-Za-z-]+):\s*(.*)$/.exec(raw);
      if (m) {
        last = m[1]!.toLowerCase();
        fields.set(last, m[2]!.trim());
      }
    }
    const list = (k: string) => (fields.get(k) ?? '').split(/\s+/).filter(Boolean);
    if (!fields.has('uris')) continue;
    out.push({ types: list('types'), uris: list('uris'), suites: list('suites'), components: list('components'), enabled: (fields.get('enabled') ?? 'yes') !== 'no' });
  }
  return out;
}

/**
 * The mirror apt uses for `suite` itself (not -updates or -security): the first enabled `deb` entry for
 * that suite with the main component, in sources.list (one-line) or *.sources (deb822) syntax.
 */
export function debianMirror(files: readonly SourceFile[], suite: string): string {
  for (const f of files) {
    const entries = f.path.endsWith('.sources') ? deb822Entries(f.text) : oneLineEntries(f.text);
    for (const e of entries) {
      if (e.enabled && e.types.includes('deb') && e.suites.includes(suite) && e.components.includes('main') && e.uris[0]) return e.uris[0];
    }
  }
  throw new Error(`no apt source for ${suite} main in ${files.map((f) => f.path).join(', ') || 'no sources files'}`);
}

/** The apt sources of this machine, in the order apt reads them. */
export function hostSources(): SourceFile[] {
  const files: string[] = [];
  if (existsSync('/etc/apt/sources.list')) files.push('/etc/apt/sources.list');
  const dir = '/etc/apt/sources.list.d';
  if (existsSync(dir)) {
    for (const n of readdirSync(dir).sort()) if (n.endsWith('.list') || n.endsWith('.sources')) files.push(join(dir, n));
  }
  return files.map((path) => ({ path, text: readFileSync(path, 'utf8') }));
}

export function hostSuite(): string {
  const m = /^VERSION_CODENAME=(\S+)$/m.exec(readFileSync('/etc/os-release', 'utf8'));
  if (!m) throw new Error('/etc/os-release has no VERSION_CODENAME');
  return m[1]!.replace(/"/g, '');
}

/** The tarball of a minbase root of this machine's Debian release, made with debootstrap when missing. */
export function minbaseRootTarball(cacheDir: string, log: (s: string) => void): string {
  const suite = hostSuite();
  const tarball = join(cacheDir, `debian-${suite}-minbase-amd64.tar`);
  if (existsSync(tarball)) return tarball;
  const mirror = debianMirror(hostSources(), suite);
  const dir = join(cacheDir, `debian-${suite}-minbase.${process.pid}.tmp`);
  const tmpTar = `${tarball}.${process.pid}.tmp`;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(cacheDir, { recursive: true });
  log(`debootstrap --variant=minbase ${suite} from ${mirror}`);
  try {
    execFileSync('debootstrap', ['--variant=minbase', suite, dir, mirror], { stdio: ['ignore', 'ignore', 'inherit'] });
    execFileSync('tar', ['--numeric-owner', '-C', dir, '-cf', tmpTar, '.']);
    renameSync(tmpTar, tarball);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(tmpTar, { force: true });
  }
  return tarball;
}

/** A fresh copy of the root in `dir` (which must be empty or missing). */
export function unpackRoot(tarball: string, dir: string): void {
  mkdirSync(dir, { recursive: true });
  execFileSync('tar', ['--numeric-owner', '-C', dir, '-xf', tarball]);
}
