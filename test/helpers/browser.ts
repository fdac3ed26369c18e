import { existsSync } from 'node:fs';
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
