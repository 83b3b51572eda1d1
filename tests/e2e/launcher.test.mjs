// The one-tag embed: the demo shop's <script> puts an accessible launcher on the
// page, immune to the shop's hostile CSS; clicking it opens the widget frame from
// the widget's own origin, and closing returns focus to the launcher.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { screenshot, useStack } from './harness.mjs';
import { ShopPage } from './shop-page.mjs';

const env = useStack();

test('the script tag injects an accessible launcher that host CSS cannot restyle', async () => {
  const shop = await ShopPage.visit(env, '/', { open: false });
  const page = shop.page;
  const launcher = shop.launcher();
  await launcher.waitFor();
  assert.equal(await launcher.getAttribute('aria-label'), 'Open support chat');
  assert.equal(await launcher.getAttribute('aria-expanded'), 'false');
  // demo/shop.css sets `button { background: hotpink !important }`.
  const bg = await launcher.evaluate((el) => getComputedStyle(el).backgroundColor);
  assert.equal(bg, 'rgb(31, 95, 209)');
  // The shop's own button is still hotpink: our styles did not leak out.
  const shopBg = await page.locator('main button').evaluate((el) => getComputedStyle(el).backgroundColor);
  assert.equal(shopBg, 'rgb(255, 105, 180)');
  await shop.close();
});

test('clicking the launcher opens the widget frame from the widget origin', async () => {
  const shop = await ShopPage.visit(env, '/', { open: false });
  const page = shop.page;
  await shop.launcher().click();
  assert.equal(await shop.launcher().getAttribute('aria-expanded'), 'true');

  const frameEl = shop.frameElement();
  await frameEl.waitFor({ state: 'visible' });
  const src = await frameEl.getAttribute('src');
  assert.ok(src.startsWith(`${env.stack.widgetOrigin}/widget/`), src);
  assert.ok(!/user|hash|jwt|token/i.test(src), `no identity in the frame URL: ${src}`);

  // The frame booted (wasm ran), said ready, and got the snippet's data-title.
  const heading = shop.frame().getByRole('heading', { level: 1 });
  await heading.waitFor();
  assert.equal(await heading.textContent(), 'Acme support');
  const dialog = shop.dialog();
  assert.equal(await dialog.getAttribute('aria-labelledby'), 'ed-title');
  assert.ok(shop.requests.some((u) => u.startsWith(env.stack.widgetOrigin) && u.endsWith('.wasm')));
  // The frame page carries its own Content-Security-Policy.
  const policy = await page.frames().find((f) => f.url().startsWith(`${env.stack.widgetOrigin}/widget/`))
    .evaluate(() => document.querySelector('meta[http-equiv="Content-Security-Policy"]')?.content);
  assert.match(policy, /default-src 'none'/);
  assert.match(policy, /script-src 'self' 'wasm-unsafe-eval' 'sha256-/);
  await screenshot(page, 'widget-open');
  // Looking is not interacting: nothing is written to storage yet (host or frame).
  const ours = () => {
    try { return Object.keys(localStorage).filter((k) => k.startsWith('everdesk:')); } catch { return []; }
  };
  assert.deepEqual(await page.evaluate(ours), []);
  const frame = page.frames().find((f) => f.url().startsWith(`${env.stack.widgetOrigin}/widget/`));
  assert.deepEqual(await frame.evaluate(ours), []);

  // Closing from inside the frame hides it and gives focus back to the launcher.
  await shop.frame().getByRole('button', { name: 'Close support chat' }).click();
  await frameEl.waitFor({ state: 'hidden' });
  assert.equal(await shop.launcher().getAttribute('aria-expanded'), 'false');
  const focused = await page.evaluate(() => document.querySelector('everdesk-widget').shadowRoot.activeElement?.getAttribute('aria-haspopup'));
  assert.equal(focused, 'dialog');
  await shop.close();
});
