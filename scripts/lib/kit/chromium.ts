/**
 * Debian's Chromium driven by playwright-core, for the console's browser tests and its screenshots
 * (never loaded by the console itself). A fresh profile folder per launch, removed on close; the flags
 * keep Chromium from reaching out (no sync, component updates or background networking).
 */
import { existsSync } from 'node:fs';
import { chromium, type BrowserContext } from 'playwright-core';
import { removeDir, tempDir } from './temp.js';

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface Chromium {
  context: BrowserContext;
  close(): Promise<void>;
}

/** `javaScript: false`: pages as a browser without scripts shows them (the console's essential paths work so). */
export async function launchChromium(options: { width?: number; height?: number; locale?: string; javaScript?: boolean } = {}): Promise<Chromium> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run scripts/install-test-tools.sh (installs Debian's chromium)`);
  const profile = tempDir('console-chromium-');
  try {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_FLAGS,
      // The UI language too: form controls (a time field's AM/PM) follow it, not the page's locale; on
      // Linux Chromium takes it from the environment.
      env: { ...process.env, LANGUAGE: (options.locale ?? 'zh-CN').replace('-', '_') },
      viewport: { width: options.width ?? 1366, height: options.height ?? 900 },
      locale: options.locale ?? 'zh-CN',
      timezoneId: 'UTC',
      javaScriptEnabled: options.javaScript ?? true,
    });
    return {
      context,
      close: async () => {
        await context.close();
        removeDir(profile);
      },
    };
  } catch (err) {
    removeDir(profile);
    throw err;
  }
}
