// Two tabs stay in sync; hostile text in messages and in EverOS summaries renders
// as inert text; the widget works on a strict-CSP host page; no serious or
// critical axe violations; the Arabic layout is right-to-left.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, screenshot, useStack } from './harness.mjs';
import { ShopPage } from './shop-page.mjs';

const env = useStack({ everos: true });

test('two tabs of one customer stay in sync', async () => {
  const context = await env.browser.newContext();
  const a = new ShopPage(await context.newPage(), env.stack);
  const b = new ShopPage(await context.newPage(), env.stack);
  await a.goto('/');
  await b.goto('/');
  await a.open();
  await b.open();
  // Background tabs do not render (no animation frames): act in the tab in front,
  // as a person would.
  await a.page.bringToFront();
  await a.newTicket('Started in tab A');
  await a.send('Hello from tab A');
  // Only one tab announces the reply (the one the customer is looking at).
  const announced = (shop) => shop.w().locator('[data-testid=announcer]').textContent();
  assert.match(await announced(a), /^New reply from support: /);
  assert.equal(await announced(b), '', 'tab B stays quiet');
  // Tab B learns about the ticket without a reload.
  await b.page.bringToFront();
  await b.w().getByRole('button', { name: /Started in tab A/ }).waitFor();
  await b.w().getByRole('button', { name: /Started in tab A/ }).click();
  await b.message('Hello from tab A').waitFor();
  await context.close();
});

const PAYLOADS = [
  '<img src=x onerror="window.__xss=1;alert(1)">',
  '<script>window.__xss=1</script>',
  '[click me](javascript:window.__xss=1)',
  '"><svg onload=alert(1)>',
];

test('hostile text in messages and in recalled summaries stays inert text', async () => {
  let dialogs = 0;
  const shop = await ShopPage.visit(env, '/', {
    watch: (page) => page.on('dialog', (d) => { dialogs += 1; d.dismiss(); }),
  });
  const page = shop.page;
  await shop.newTicket('<b>subject</b> <img src=x onerror=alert(1)>');
  for (const p of PAYLOADS) await shop.send(p);
  for (const p of PAYLOADS.slice(0, 2)) await shop.message(p).waitFor();
  // Close: EverOS's summary now quotes the payloads; it is recalled on the list.
  await shop.w().getByRole('button', { name: 'Close ticket' }).click();
  await shop.w().getByRole('button', { name: 'Close ticket' }).click();
  await shop.w().getByText('This ticket is closed.').waitFor();
  await shop.backToList();
  const history = shop.w().getByRole('region', { name: 'From your past tickets' });
  await history.locator('.ed-history__item').first().waitFor();
  const frame = shop.frame();
  const found = await frame.evaluate(() => ({
    img: document.querySelectorAll('img, svg, iframe, object, embed').length,
    jsLinks: [...document.querySelectorAll('a')].filter((a) => !/^https?:/.test(a.href)).length,
    xss: window.__xss === 1,
  }));
  assert.deepEqual(found, { img: 0, jsLinks: 0, xss: false });
  assert.equal(dialogs, 0);
  assert.equal(await page.evaluate(() => window.__xss), undefined);
  assert.match(await history.textContent(), /<img|<script|javascript:/);
  await shop.close();
});

test('the widget works on a host page with a strict Content-Security-Policy', async () => {
  const violations = [];
  const shop = await ShopPage.visit(env, '/strict-csp.html', {
    watch: (page) => page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) violations.push(m.text()); }),
  });
  await shop.newTicket('Strict page');
  await shop.send('Does it work under a strict policy?');
  assert.deepEqual(violations, []);
  await shop.close();
});

test('no serious or critical accessibility violations (axe), keyboard only', async () => {
  const shop = await ShopPage.visit(env, '/', { open: false });
  const page = shop.page;
  // Keyboard only: Tab to the launcher, Enter to open, focus moves into the widget.
  await shop.launcher().focus();
  await page.keyboard.press('Enter');
  await shop.w().getByRole('heading', { level: 1 }).waitFor();
  await page.waitForFunction(() => document.activeElement?.tagName === 'EVERDESK-WIDGET');
  const axe = readFileSync(join(ROOT, 'node_modules/axe-core/axe.min.js'), 'utf8');
  const scan = async (frame) => {
    await frame.evaluate(axe);
    const result = await frame.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
    return result.violations.filter((v) => ['serious', 'critical'].includes(v.impact))
      .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  };
  assert.deepEqual(await scan(shop.frame()), [], 'home screen');
  await shop.newTicket('Accessibility');
  await shop.send('Checking contrast and labels');
  assert.deepEqual(await scan(shop.frame()), [], 'conversation');
  // Escape closes and focus returns to the launcher.
  await shop.composer().press('Escape');
  await shop.frameElement().waitFor({ state: 'hidden' });
  assert.equal(await shop.launcher().getAttribute('aria-expanded'), 'false');
  await shop.close();
});

test('Arabic is laid out right to left', async () => {
  const shop = await ShopPage.visit(env, '/', { open: false });
  const page = shop.page;
  await page.evaluate(() => window.EverDesk('setLocale', 'ar'));
  await shop.launcher().click();
  const dialog = shop.dialog();
  await shop.w().getByRole('button', { name: 'محادثة جديدة' }).waitFor();
  assert.equal(await dialog.getAttribute('dir'), 'rtl');
  assert.equal(await dialog.getAttribute('lang'), 'ar');
  await screenshot(page, 'rtl-arabic');
  await shop.close();
});
