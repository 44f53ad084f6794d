/**
 * The pinned integrity of the Zig toolchain tarball (scripts/package/zig-toolchain.ts, part of npm test):
 * the check is the registry's own form (`sha512-<base64>` of the tarball's bytes, as `npm view … dist.integrity`
 * prints it), so a file whose bytes differ in one bit is refused, and the pin is a well-formed sha512.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasIntegrity, ZIG_INTEGRITY } from '../../scripts/package/zig-toolchain.js';

const work = mkdtempSync(join(tmpdir(), 'sa-zig-integrity-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the Zig tarball integrity pin', () => {
  it('accepts the bytes whose sha512 it names and refuses the same bytes with one bit changed', () => {
    const bytes = Buffer.from('a stand-in for zig-linux-x64-0.11.0.tgz\n');
    const file = join(work, 'zig.tgz');
    writeFileSync(file, bytes);
    // An independent statement of the same digest: openssl dgst -sha512 -binary | base64 gives this form.
    const integrity = `sha512-${createHash('sha512').update(bytes).digest('base64')}`;
    expect(hasIntegrity(file, integrity)).toBe(true);
    bytes[3]! ^= 1;
    writeFileSync(file, bytes);
    expect(hasIntegrity(file, integrity)).toBe(false);
    expect(() => hasIntegrity(file, 'sha1-abc')).toThrow(/unsupported/);
  });

  it('pins a sha512 of 64 bytes', () => {
    expect(ZIG_INTEGRITY).toMatch(/^sha512-[A-Za-z0-9+/]{86}==$/);
    expect(Buffer.from(ZIG_INTEGRITY.slice('sha512-'.length), 'base64')).toHaveLength(64);
  });
});
