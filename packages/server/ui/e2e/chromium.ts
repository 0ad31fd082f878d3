import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

/** Debian's Chromium (never a downloaded browser), or KAIWA_CHROMIUM. */
const CHROMIUM = process.env.KAIWA_CHROMIUM ?? '/usr/bin/chromium';

/** Without the networking flags Chromium keeps calling Google's hosts, which this machine refuses. */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/** Why the browser tests cannot run here, or undefined when they can. */
export const chromiumSkipReason = existsSync(CHROMIUM)
  ? undefined
  : `no Chromium at ${CHROMIUM}: install it (apt-get install chromium; CI does) or set KAIWA_CHROMIUM to its path`;

/** `extraArgs`: more switches for one test, e.g. the fake microphone of the voice test. */
export function launchChromium(extraArgs: readonly string[] = []): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS, ...extraArgs] });
}
