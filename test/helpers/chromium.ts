// Debian's Chromium, driven by playwright-core, as every browser test runs
// it: headless, no sandbox (CI runs as root), no network of its own, and a
// fresh profile each time. Never a downloaded browser.
import type { ExecutionContext } from 'ava';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/**
 * A browser closed when the test ends; `env` for what it reads there (a HOME
 * with its NSS database); `extraArgs` such as `--host-resolver-rules` (names
 * that resolve to loopback, so a test can use a host name off loopback
 * without leaving the machine).
 */
export async function launchChromium(t: ExecutionContext, env?: NodeJS.ProcessEnv, extraArgs: string[] = []): Promise<BrowserContext> {
  const context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'protofly-chromium-')), {
    executablePath: CHROMIUM,
    headless: true,
    ...(env ? { env } : {}),
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', ...extraArgs],
  });
  t.teardown(() => context.close());
  return context;
}
