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

/** WCAG 2.x contrast ratio of two computed `rgb(r, g, b)` colours. */
function contrast(a, b) {
  const luminance = (rgb) => {
    const [r, g, b] = rgb.match(/\d+/g).map((v) => {
      const c = v / 255;
      return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

test('the launcher icon keeps AA contrast on the brand colour, and agrees with the widget header', async () => {
  const WHITE = 'rgb(255, 255, 255)';
  const NEAR_BLACK = 'rgb(17, 17, 17)'; // #111111, on_brand's dark ink in src/config.rs
  // data-color → the launcher's background and icon colour. White where it reaches 4.5:1
  // (#767676 is the classic 4.54:1 grey), near-black on light brands, as the frame does.
  const cases = [
    [undefined, 'rgb(31, 95, 209)', WHITE], // the default brand, #1f5fd1
    ['#767676', 'rgb(118, 118, 118)', WHITE],
    ['#ffd400', 'rgb(255, 212, 0)', NEAR_BLACK],
    ['#a0e0ff', 'rgb(160, 224, 255)', NEAR_BLACK],
    ['#ff0', 'rgb(255, 255, 0)', NEAR_BLACK],
  ];
  for (const [color, background, icon] of cases) {
    const shop = await ShopPage.visit(env, '/', { open: false, snippet: color && { 'data-color': color } });
    const launcher = shop.launcher();
    const seen = () => launcher.evaluate((b) => {
      const style = (el) => getComputedStyle(el);
      const badge = b.querySelector('.b');
      return {
        background: style(b).backgroundColor,
        icon: style(b.querySelector('svg path')).fill,
        badge: [style(badge).color, style(badge).backgroundColor],
        focusVisible: b.matches(':focus-visible'),
        ring: style(b).outlineStyle == 'none' ? null : style(b).outlineColor,
      };
    });
    const before = await seen();
    assert.equal(before.background, background, `data-color ${color}`);
    assert.equal(before.icon, icon, `icon on ${color ?? 'the default brand'}`);
    assert.ok(contrast(before.icon, before.background) >= 4.5, `icon contrast on ${color}`);
    // The unread badge keeps white on red whatever the brand.
    assert.deepEqual(before.badge, [WHITE, 'rgb(179, 38, 30)']);
    assert.ok(contrast(...before.badge) >= 4.5);
    // The focus ring is drawn on the shop page, outside the button: it must stand out
    // from the page's background (non-text contrast, 3:1), light brand or not.
    await launcher.focus();
    const focused = await seen();
    assert.ok(focused.focusVisible && focused.ring, `focus ring on ${color}`);
    const page = await shop.page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    assert.ok(contrast(focused.ring, page) >= 3, `focus ring ${focused.ring} on ${page}`);
    await shop.close();
  }

  // The frame's header uses on_brand (src/config.rs) on the same brand colour: the
  // launcher and the opened widget show the same ink.
  for (const color of [undefined, '#ffd400']) {
    const shop = await ShopPage.visit(env, '/', { snippet: color && { 'data-color': color } });
    const icon = await shop.launcher().evaluate((b) => getComputedStyle(b.querySelector('svg path')).fill);
    const header = await shop.frame().evaluate(() => getComputedStyle(document.querySelector('.ed-panel__header')).color);
    assert.equal(header, icon, `launcher and widget header on ${color ?? 'the default brand'}`);
    await shop.close();
  }
});
