import { mkdir } from 'node:fs/promises';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../helpers/chromium.ts';
import { recordReconcile, REFUSAL } from '../helpers/reconcile-runs.ts';
import { startHttpEnv, type HttpEnv } from './fixture.ts';

const ARTIFACTS = 'test-artifacts';
const PHONE = { width: 390, height: 844 };

let launched: Browser | undefined;
let launchFailure: unknown;

/** A missing browser fails each test that needs it (a throwing beforeAll would report them as skipped). */
function browser(): Browser {
  if (launched === undefined) throw launchFailure;
  return launched;
}

beforeAll(async () => {
  await mkdir(ARTIFACTS, { recursive: true });
  launched = await launchChromium().catch((error: unknown) => {
    launchFailure = error;
    return undefined;
  });
});
afterAll(async () => {
  await launched?.close();
});

describe('a refused reconciliation on the status page in Chromium', () => {
  let env: HttpEnv | undefined;
  afterEach(async () => {
    await env?.close();
    env = undefined;
  });

  it('shows the warning first in its workspace, readable on a phone', async () => {
    browser();
    env = await startHttpEnv('postgres');
    await env.sync();
    await recordReconcile(env, 'alpha', 1, 'refused');

    const context = await browser().newContext({ viewport: PHONE, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    try {
      const page = await context.newPage();
      const response = await page.goto(`${env.server.url}/workspaces/alpha`);
      expect(response?.status()).toBe(200);
      const workspace = page.locator('main');
      const warning = workspace.getByRole('alert');
      await expect.poll(() => warning.isVisible()).toBe(true);
      const text = await warning.innerText();
      expect(text).toMatch(/^Action needed: the reconciliation that finished \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ marked no job deleted\.\s/);
      expect(text).toContain(REFUSAL);

      // Above the last success line and the runs, so it is the first thing read.
      const warningBox = (await warning.boundingBox())!;
      expect(warningBox.y).toBeLessThan((await workspace.getByText('Last successful sync:').boundingBox())!.y);
      expect(warningBox.y).toBeLessThan((await workspace.locator('table.runs').boundingBox())!.y);
      // The long command wraps instead of widening the page.
      expect(warningBox.width).toBeLessThanOrEqual(PHONE.width);
      expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(PHONE.width);
      await page.screenshot({ path: `${ARTIFACTS}/status-page-refused.png`, fullPage: true });
    } finally {
      await context.close();
    }
  });
});
