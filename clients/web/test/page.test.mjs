// The page in real headless Chromium (Debian's chromium, driven by playwright-core): `npm test` from clients/web.
// PAGE_URL: where the page is served (e.g. DevHost's http://127.0.0.1:5100/); skipped without.
// CONTOSO_RETAIL_TEST_SKU: the item to order (default: the first one with at least 2 available).
// CHROMIUM: the browser (default /usr/bin/chromium). SCREENSHOT: where to save a screenshot (default test-results/page.png).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { chromium } from 'playwright-core';

const pageUrl = process.env.PAGE_URL;
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const screenshot = resolve(process.env.SCREENSHOT ?? 'test-results/page.png');
const skip = !pageUrl ? 'set PAGE_URL to the served page' : !existsSync(executablePath) ? `no browser at ${executablePath} (apt-get install chromium)` : false;
const TIMEOUT = 15_000;

describe('the stock and orders page', { skip }, () => {
  let browser;
  let page;
  const browserErrors = [];

  before(async () => {
    browser = await chromium.launch({ executablePath, headless: true });
    page = await browser.newPage({ viewport: { width: 900, height: 640 } });
    page.setDefaultTimeout(TIMEOUT);
    page.on('pageerror', (error) => browserErrors.push(error.message));
    await page.goto(pageUrl);
  });

  after(async () => {
    if (page) {
      mkdirSync(dirname(screenshot), { recursive: true });
      await page.screenshot({ path: screenshot, fullPage: true });
      console.log(`screenshot ${screenshot}`);
    }
    await browser?.close();
  });

  const row = (sku) => page.locator(`#stock tr[data-sku="${sku}"]`);
  const cell = async (sku, name) => Number(await row(sku).locator(`td.${name}`).textContent());

  async function chooseSku() {
    await page.locator('#status.live').waitFor();
    if (process.env.CONTOSO_RETAIL_TEST_SKU) {
      await row(process.env.CONTOSO_RETAIL_TEST_SKU).waitFor();
      return process.env.CONTOSO_RETAIL_TEST_SKU;
    }
    for (const candidate of await page.locator('#stock tr').all()) {
      if (Number(await candidate.locator('td.available').textContent()) >= 2) {
        return candidate.getAttribute('data-sku');
      }
    }
    assert.fail('no item with at least 2 available');
  }

  async function placeOrder(sku, quantity) {
    await page.locator('#result').evaluate((e) => { e.textContent = ''; });
    await page.selectOption('#sku', sku);
    await page.fill('#quantity', String(quantity));
    await page.click('#place');
    await page.locator('#result.ok, #result.error').waitFor();
    return page.locator('#result').textContent();
  }

  it('shows live stock, places an order over gRPC-Web, sees the stock change, and shows a rejection with its details', async () => {
    const sku = await chooseSku();
    const [available, reserved] = [await cell(sku, 'available'), await cell(sku, 'reserved')];

    const confirmed = await placeOrder(sku, 2);
    assert.match(confirmed, /^Order \S+: CONFIRMED/);

    // The change arrives on the WatchStock stream, not by reloading.
    await page.waitForFunction(
      ([s, a, r]) => {
        const cells = document.querySelector(`#stock tr[data-sku="${s}"]`)?.cells;
        return cells && Number(cells[2].textContent) === a && Number(cells[3].textContent) === r;
      },
      [sku, available - 2, reserved + 2],
    );

    const rejected = await placeOrder(sku, available);
    assert.match(rejected, /FailedPrecondition/);
    assert.match(rejected, new RegExp(`${sku}: INSUFFICIENT_STOCK`));
    assert.deepEqual(browserErrors, []);
    console.log(`ordered ${sku}: ${confirmed}`);
  });
});
