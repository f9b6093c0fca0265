import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadReportData } from '../../src/db/report-data.ts';
import { windowStart } from '../../src/report/days.ts';
import { buildReport } from '../../src/report/model.ts';
import { renderReport } from '../../src/report/render.ts';
import { launchChromium } from '../helpers/chromium.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { seedReport } from './seed.ts';

const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 900 };
const LONG = 'customer-success-emea-outbound-renewals-2026';

let launched: Browser | undefined;
let launchFailure: unknown;
let database: TestDatabase;
let file: string;

/** A missing browser fails each test that needs it (a throwing beforeAll would report them as skipped). */
function browser(): Browser {
  if (launched === undefined) throw launchFailure;
  return launched;
}

beforeAll(async () => {
  launched = await launchChromium().catch((error: unknown) => {
    launchFailure = error;
    return undefined;
  });
  database = await createTestDatabase();
  await seedReport(database.sql);
  // 30 days (today and the 29 before it, from about 100 jobs a day down to 4) of a busy workspace with a long name
  // and long agent names: the widest tables and the fullest chart.
  await database.sql`
    INSERT INTO batch_calls (workspace, id, name, agent_id, agent_name, status, created_at_unix, scheduled_time_unix, last_updated_at_unix,
                             total_calls_scheduled, total_calls_dispatched, total_calls_finished, raw)
    SELECT ${LONG}, 'j' || g, 'job ' || g, 'agent_' || (g % 4), 'Outbound renewals agent number ' || (g % 4),
           (ARRAY['completed', 'completed', 'completed', 'failed', 'in_progress'])[1 + (g / 30) % 5],
           t, t, t, 100, 100, 90 + (g % 4) * 2 + (g % 7 = 0)::int, '{}'::jsonb
    FROM generate_series(1, 3000) AS g,
         LATERAL (SELECT extract(epoch FROM date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')::bigint - (g % 30) * 86400 + (g % 600) AS t) AS created
    WHERE g / 100 >= g % 30`;
  const html = renderReport(buildReport(await loadReportData(database.sql, windowStart(new Date(), 30 * 86_400_000))));
  file = path.join(mkdtempSync(path.join(tmpdir(), 'report-browser-')), 'report.html');
  writeFileSync(file, html);
});
afterAll(async () => {
  await launched?.close();
  await database.drop();
});

async function open(viewport: { width: number; height: number }, mobile: boolean): Promise<{ page: Page; close(): Promise<void> }> {
  const context = await browser().newContext({ viewport, deviceScaleFactor: mobile ? 2 : 1, isMobile: mobile, hasTouch: mobile });
  const page = await context.newPage();
  await page.goto(`file://${file}`);
  return { page, close: () => context.close() };
}

describe('the report in Chromium', () => {
  it('fits a 390 px phone: no table widens the page, axis labels stay legible', async () => {
    const { page, close } = await open(PHONE, true);
    try {
      // Strings, not functions: the tests compile without the DOM's types.
      const widths = await page.evaluate<{ scroll: number; inner: number; boxes: number[]; tables: number[] }>(`({
        scroll: document.documentElement.scrollWidth,
        inner: window.innerWidth,
        boxes: [...document.querySelectorAll('.scroll')].map((box) => box.getBoundingClientRect().right),
        tables: [...document.querySelectorAll('table')].map((table) => table.scrollWidth),
      })`);
      expect(widths.scroll).toBeLessThanOrEqual(widths.inner);
      for (const right of widths.boxes) expect(right).toBeLessThanOrEqual(widths.inner);
      // The workspace and agent tables are wider than the phone: they scroll inside their boxes.
      expect(Math.max(...widths.tables)).toBeGreaterThan(widths.inner);
      // A time is never split over two lines.
      const times = await page.evaluate<number[]>(`[...document.querySelectorAll('time')].map((t) => t.getClientRects().length)`);
      expect(new Set(times)).toEqual(new Set([1]));
      const tick = page.locator(`#ws-${LONG} text.tick`).last();
      expect((await tick.boundingBox())!.height).toBeGreaterThanOrEqual(9);
      expect(await page.locator(`#ws-${LONG} tspan.partial-label`).isVisible()).toBe(true);
      await page.screenshot({ path: '/tmp/report-phone.png', fullPage: true });
    } finally {
      await close();
    }
  });

  it('on a desktop shows the values above the columns and the contents link to the sections', async () => {
    const { page, close } = await open(DESKTOP, false);
    try {
      const values = page.locator(`#ws-${LONG} text.value`);
      expect(await values.count()).toBe(30);
      expect(await values.first().isVisible()).toBe(true);
      await page.locator('nav a', { hasText: LONG }).click();
      await expect.poll(() => page.evaluate<string>('location.hash')).toBe(`#ws-${LONG}`);
      expect(await page.locator(`#ws-${LONG} h2`).isVisible()).toBe(true);
      await page.evaluate('window.scrollTo(0, 0)');
      await page.screenshot({ path: '/tmp/report-desktop.png', fullPage: true });
    } finally {
      await close();
    }
  });

  it('prints the tables folded on screen', async () => {
    const { page, close } = await open(DESKTOP, false);
    try {
      const days = page.locator('#ws-north details.days table');
      expect(await days.isVisible()).toBe(false);
      await page.emulateMedia({ media: 'print' });
      expect(await days.isVisible()).toBe(true);
    } finally {
      await close();
    }
  });
});
