// Debian's chromium through playwright-core for the console tests: where it is, the flags this
// machine needs, the skip (or, in CI, the failure) when it is missing, and a fresh profile per run.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
/** Where the console tests leave their screenshots. */
export const SHOTS = process.env.GRENIER_CONSOLE_SHOTS ?? '/tmp/grenier-console';
/** Without the background-networking flags chromium keeps dialling hosts this closed network refuses. */
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const missing = !existsSync(CHROMIUM);
if (missing && process.env.CI === 'true') throw new Error(`${CHROMIUM} is missing: .ci/run installs Debian's chromium (APT_PACKAGES)`);
/** The `skip` option of a console browser test. */
export const browserSkip: string | false = missing ? `${CHROMIUM} is not installed (apt-get install chromium); the console browser test needs it` : false;

export interface Browser {
  ctx: BrowserContext;
  close(): Promise<void>;
}

/** A browser context on a fresh --user-data-dir (launchPersistentContext is how playwright takes one). */
export async function openBrowser(opts: { width: number; defaultTimeoutMs: number; acceptDownloads?: boolean }): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'grenier-chromium-'));
  mkdirSync(SHOTS, { recursive: true });
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: ARGS,
    headless: true,
    timeout: 30_000,
    viewport: { width: opts.width, height: 800 },
    ...(opts.acceptDownloads ? { acceptDownloads: true } : {}),
  });
  ctx.setDefaultTimeout(opts.defaultTimeoutMs);
  return {
    ctx,
    async close() {
      await ctx.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
