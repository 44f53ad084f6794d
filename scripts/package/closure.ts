/**
 * The npm packages a product needs at run time, computed rather than listed: the bare specifiers its built
 * code imports (static and dynamic imports, require() through createRequire), then each such package's own
 * dependencies and optionalDependencies, transitively, resolved the way Node resolves them (the nearest
 * node_modules up the tree). The package build keeps exactly this closure in node_modules and deletes the
 * rest, so the station's package never carries the county's modules (pg, echarts) or a dev tool, and a
 * workspace link (@station-agent/protocol, whose code ships as dist/protocol) is never a dangling symlink.
 */
import { existsSync, lstatSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { walk } from './files.js';

export interface ModuleEntry {
  name: string;
  version: string;
  license: string;
  /** Folder of the package, relative to the app folder (node_modules/…). */
  path: string;
}

// `import … from 'x'`, `export … from 'x'`, `import 'x'`, `import('x')`, and `require('x')` (not
// `createRequire(…).resolve('x')`: the console's fallback path to echarts in a checkout, never taken when
// the build's copy of echarts.min.js is shipped).
const IMPORT_RE =
  /(?:^|[;\s])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s+['"]([^'"]+)['"]|(?<![.\w])require\(\s*['"]([^'"]+)['"]\s*\)/gm;

/** The package name of a bare specifier (`@scope/name/sub` → `@scope/name`), or null for a relative or builtin one. */
export function packageName(spec: string): string | null {
  if (spec.startsWith('.') || spec.startsWith('/') || spec.startsWith('node:') || builtinModules.includes(spec)) return null;
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

/** Packages imported by the .js files under the given folders. */
export function importedPackages(dirs: readonly string[]): Set<string> {
  const found = new Set<string>();
  for (const dir of dirs) {
    for (const file of walk(dir)) {
      if (!file.endsWith('.js')) continue;
      for (const m of readFileSync(file, 'utf8').matchAll(IMPORT_RE)) {
        const name = packageName((m[1] ?? m[2] ?? m[3] ?? m[4])!);
        if (name) found.add(name);
      }
    }
  }
  return found;
}

interface PackageJson {
  name?: string;
  version?: string;
  license?: string | { type?: string };
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

/** The folder Node would load `name` from when required from `fromDir`, looking up to `appDir`; null when absent. */
function resolvePackage(appDir: string, fromDir: string, name: string): string | null {
  let dir = fromDir;
  for (;;) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dir === appDir || relative(appDir, dir).startsWith('..')) return null;
    dir = dirname(dir);
  }
}

/**
 * The run-time closure of `roots` (package names imported by the app's code) in `appDir/node_modules`.
 * A missing package that is required (a root or a plain dependency) is an error; a missing optional one
 * (another platform's binary) is not.
 */
export function moduleClosure(appDir: string, roots: Iterable<string>, skip: ReadonlySet<string> = new Set()): ModuleEntry[] {
  const seen = new Map<string, ModuleEntry>();
  const todo: Array<{ from: string; name: string; optional: boolean; by: string }> = [...roots]
    .filter((n) => !skip.has(n))
    .map((name) => ({ from: appDir, name, optional: false, by: 'the built code' }));
  while (todo.length > 0) {
    const { from, name, optional, by } = todo.pop()!;
    const dir = resolvePackage(appDir, from, name);
    if (!dir) {
      if (optional) continue;
      throw new Error(`${name} (needed by ${by}) is not installed in ${join(appDir, 'node_modules')}`);
    }
    const path = relative(appDir, dir);
    if (seen.has(path)) continue;
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageJson;
    const license = typeof pkg.license === 'string' ? pkg.license : (pkg.license?.type ?? 'see its folder');
    seen.set(path, { name, version: pkg.version ?? '?', license, path });
    for (const dep of Object.keys(pkg.dependencies ?? {})) todo.push({ from: dir, name: dep, optional: false, by: name });
    for (const dep of Object.keys(pkg.optionalDependencies ?? {})) todo.push({ from: dir, name: dep, optional: true, by: name });
  }
  return [...seen.values()].sort((a, b) => a.name.localeCompare(b.name) || a.path.localeCompare(b.path));
}

/**
 * Deletes from `appDir/node_modules` every package folder (and every symlink) that is not in `keep`,
 * nested node_modules included, and npm's bookkeeping (.package-lock.json, .bin). Returns the deleted paths.
 */
export function pruneModules(appDir: string, keep: readonly ModuleEntry[]): string[] {
  const kept = new Set(keep.map((m) => m.path));
  const deleted: string[] = [];
  const visit = (modules: string) => {
    if (!existsSync(modules)) return;
    for (const entry of readdirSync(modules)) {
      const p = join(modules, entry);
      if (entry === '.bin' || entry === '.package-lock.json') {
        rmSync(p, { recursive: true, force: true });
        continue;
      }
      if (entry.startsWith('@') && !lstatSync(p).isSymbolicLink()) {
        for (const scoped of readdirSync(p)) consider(join(p, scoped));
        if (readdirSync(p).length === 0) rmSync(p, { recursive: true });
        continue;
      }
      consider(p);
    }
  };
  const consider = (p: string) => {
    const rel = relative(appDir, p);
    if (!lstatSync(p).isSymbolicLink() && kept.has(rel)) {
      visit(join(p, 'node_modules'));
      return;
    }
    rmSync(p, { recursive: true, force: true });
    deleted.push(rel);
  };
  visit(join(appDir, 'node_modules'));
  return deleted.sort();
}

/** Every package folder installed under `appDir/node_modules`, as name@version at its path (for the tests). */
export function installedModules(appDir: string): ModuleEntry[] {
  const out: ModuleEntry[] = [];
  const visit = (modules: string) => {
    if (!existsSync(modules)) return;
    for (const entry of readdirSync(modules)) {
      if (entry.startsWith('.')) continue;
      const p = join(modules, entry);
      if (entry.startsWith('@')) {
        for (const scoped of readdirSync(p)) add(join(p, scoped), `${entry}/${scoped}`);
      } else add(p, entry);
    }
  };
  const add = (p: string, name: string) => {
    if (lstatSync(p).isSymbolicLink() || !existsSync(join(p, 'package.json'))) {
      out.push({ name, version: 'not a package', license: '', path: relative(appDir, p) });
      return;
    }
    const pkg = JSON.parse(readFileSync(join(p, 'package.json'), 'utf8')) as PackageJson;
    out.push({ name, version: pkg.version ?? '?', license: '', path: relative(appDir, p) });
    visit(join(p, 'node_modules'));
  };
  visit(join(appDir, 'node_modules'));
  return out.sort((a, b) => a.name.localeCompare(b.name) || a.path.localeCompare(b.path));
}
