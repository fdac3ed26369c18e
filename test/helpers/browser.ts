import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
// Debian's Chromium driven by playwright-core (never a downloaded browser). The flags keep it off the network this
// machine does not have (background networking, component updates, sync, QUIC) and let it run as root, headless.
export const CHROMIUM = '/usr/bin/chromium';

export const CHROMIUM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/** Skip browser tests on a developer machine without Chromium; in CI (which installs it) a missing browser fails. */
export const noChromium = !existsSync(CHROMIUM) && process.env.CI !== 'true';

export interface OpenChromium {
  context: BrowserContext;
  /** Closes the browser and removes its profile. */
  close(): Promise<void>;
}

/** Chromium, headless, with a fresh profile of its own (a temporary folder, removed on close). */
export async function openChromium(
  options: { viewport?: { width: number; height: number } } = {},
): Promise<OpenChromium> {
  const profile = mkdtempSync(join(tmpdir(), 'kgw-chromium-'));
  const removeProfile = () => rmSync(profile, { recursive: true, force: true });
  try {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [...CHROMIUM_ARGS],
      ...options,
    });
    return {
      context,
      async close() {
        await context.close();
        removeProfile();
      },
    };
  } catch (e) {
    removeProfile();
    throw e;
  }
}
