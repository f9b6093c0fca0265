import { mkdir } from 'node:fs/promises';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../helpers/chromium.ts';
import { enqueueRun } from '../../src/jobs/schedules.ts';
import { BACKENDS } from '../helpers/queue.ts';
import { BOARD, startHttpEnv, type HttpEnv } from './fixture.ts';

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

describe('status page in Chromium', () => {
  let env: HttpEnv | undefined;
  afterEach(async () => {
    await env?.close();
    env = undefined;
  });

  it('shows the real numbers of a real sync, readable on a phone', async () => {
    browser();
    env = await startHttpEnv('postgres');
    const summary = await env.sync();
    await env.database.sql`
      insert into sync_runs (workspace, kind, status, started_at, finished_at, error)
      values ('alpha', 'sync', 'failed', now() - interval '1 hour', now() - interval '1 hour',
              '<script>document.title="pwned"</script>HTTP 503 from the API')`;

    const context = await browser().newContext({ viewport: PHONE, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    try {
      const page = await context.newPage();
      const scripts: string[] = [];
      page.on('console', (message) => scripts.push(message.text()));
      // The overview: alpha failed an hour ago but has succeeded since, so it is ok; its row links to its page.
      const response = await page.goto(`${env.server.url}/`);
      expect(response?.status()).toBe(200);
      await expect.poll(() => page.title()).toBe('threetone-sync status');
      expect(await page.locator('ul.summary').innerText()).toMatch(/1\s+workspaces[\s\S]*0\s+failing[\s\S]*1\s+ok/);
      const row = page.locator('table.workspaces tbody tr').first();
      expect(await row.innerText()).toMatch(/alpha[\s\S]*ok[\s\S]*last success less than a minute ago/);
      expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(PHONE.width);
      await page.screenshot({ path: `${ARTIFACTS}/status-overview-phone.png`, fullPage: true });
      await row.getByRole('link', { name: 'alpha' }).click();
      await expect.poll(() => page.url()).toBe(`${env.server.url}/workspaces/alpha`);
      const workspace = page.locator('main');
      await expect.poll(() => workspace.isVisible()).toBe(true);
      const text = await workspace.innerText();
      expect(text).toMatch(/Last successful sync:\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/);
      expect(text).toContain('succeeded');
      expect(text).toContain('failed');
      expect(text).toContain('<script>document.title="pwned"</script>HTTP 503 from the API');

      // The newest run as the phone layout shows it: one labelled line per value.
      const newest = workspace.locator('tr.run').first();
      expect(await newest.locator('td[data-label="Items"]').innerText()).toBe(String(summary.itemsSeen));
      expect(await newest.locator('td[data-label="New versions"]').innerText()).toBe(String(summary.versionsAdded));
      expect(await newest.locator('td[data-label="Pages"]').innerText()).toBe(String(summary.pages));
      const itemsLabel = await page.evaluate<string>(
        `getComputedStyle(document.querySelector('tr.run td[data-label="Items"]'), '::before').content`,
      );
      expect(itemsLabel).toBe('"Items"');
      expect(await newest.locator('.status').innerText()).toBe('succeeded');

      const chart = workspace.locator('figure.chart svg');
      expect(await chart.isVisible()).toBe(true);
      expect(await chart.locator('rect').count()).toBe(30);
      const today = new Date().toISOString().slice(0, 10);
      const todayBar = chart.locator('rect').last();
      expect(await todayBar.locator('title').textContent()).toBe(`${today}: 250 versions`);
      expect((await todayBar.boundingBox())!.height).toBeGreaterThan(40);

      // Nothing wider than the phone's screen.
      expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(PHONE.width);
      expect(scripts).toEqual([]);
      await page.screenshot({ path: `${ARTIFACTS}/status-page.png`, fullPage: true });
    } finally {
      await context.close();
    }
    const desktop = await browser().newPage({ viewport: { width: 1280, height: 800 } });
    try {
      await desktop.goto(`${env.server.url}/workspaces/alpha`);
      expect(await desktop.locator('thead').isVisible()).toBe(true);
      expect(await desktop.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(1280);
      await desktop.screenshot({ path: `${ARTIFACTS}/status-page-desktop.png`, fullPage: true });
    } finally {
      await desktop.close();
    }
  });
});

describe.each(BACKENDS)('queue board in Chromium on %s', (backend) => {
  let env: HttpEnv | undefined;
  afterEach(async () => {
    await env?.close();
    env = undefined;
  });

  it('renders the queue and its waiting job', async () => {
    browser();
    env = await startHttpEnv(backend, { board: BOARD });
    await enqueueRun(env.queue, env.config, { workspace: 'alpha', kind: 'incremental', trigger: 'manual' });
    const context = await browser().newContext({ viewport: { width: 1280, height: 800 }, httpCredentials: { username: BOARD.user, password: BOARD.password } });
    try {
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      const response = await page.goto(`${env.server.url}/queues/queue/${env.config.worker.queueName}?status=waiting`);
      expect(response?.status()).toBe(200);
      // The job's data as the board shows it.
      await page.getByText('"alpha"').first().waitFor({ timeout: 15_000 });
      expect(await page.getByText(env.config.worker.queueName).first().isVisible()).toBe(true);
      expect(errors).toEqual([]);
      await page.screenshot({ path: `${ARTIFACTS}/queues-${backend}.png` });
    } finally {
      await context.close();
    }
  });
});
