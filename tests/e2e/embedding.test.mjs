// Who may embed the widget. The stack allows only the demo shop's origin (as
// scripts/run does): a page on another origin that frames the widget — with the loader,
// or by hand with a forged ?host= naming the shop — gets nothing (the browser refuses
// the frame: frame-ancestors), and a frame opened for a host outside the list shows a
// notice and never calls the API, even when that host drives it like the loader does.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { freePort, screenshot, startStack, useStack } from './harness.mjs';
import { ShopPage } from './shop-page.mjs';

const env = useStack();
/** A site that is not in the allow-list, on its own loopback origin. */
const other = {};

before(async () => {
  // Pages made per request: the stack's origins are known only once it runs.
  const pages = ({ widgetOrigin, hostOrigin }) => ({
    // What a copied snippet does: the loader frames the widget with ?host=<this origin>.
    '/loader': `<script src="${widgetOrigin}/loader.js" data-open="true" async></script>`,
    // A hand-made frame claiming to be the allowed shop.
    '/forged': `<iframe title="widget" src="${widgetOrigin}/widget/?host=${encodeURIComponent(hostOrigin)}"></iframe>`,
  });
  other.server = createServer((req, res) => {
    const body = pages(env.stack)[req.url];
    res.writeHead(body ? 200 : 404, { 'content-type': 'text/html' });
    res.end(body ? `<!doctype html><title>Another site</title><body>${body}</body>` : '');
  });
  const port = await freePort();
  await new Promise((ok) => other.server.listen(port, '127.0.0.1', ok));
  other.origin = `http://127.0.0.1:${port}`;
});
after(() => new Promise((ok) => other.server?.close(ok)));

/** A fresh page that records every request URL and console line. */
async function watchedPage() {
  const context = await env.browser.newContext();
  const page = await context.newPage();
  const seen = { requests: [], console: [] };
  page.on('request', (r) => seen.requests.push(r.url()));
  page.on('console', (m) => seen.console.push(m.text()));
  return { context, page, seen };
}

const api = (seen, origin) => seen.requests.filter((u) => u.startsWith(`${origin}/v1/`));

test('a site not in the allow-list cannot frame the widget, with the loader or a forged ?host=', async () => {
  const { widgetOrigin } = env.stack;
  for (const path of ['/loader', '/forged']) {
    const { context, page, seen } = await watchedPage();
    const framePage = page.waitForResponse((r) => r.url().startsWith(`${widgetOrigin}/widget/`));
    await page.goto(`${other.origin}${path}`);
    const resp = await framePage;
    const frame = page.frames().find((f) => f !== page.mainFrame());
    assert.ok(frame, path);
    await page.waitForFunction(() => document.readyState === 'complete');
    await frame.waitForLoadState();
    assert.ok(!frame.url().startsWith(widgetOrigin), `${path}: the frame shows ${frame.url()}`);
    // The widget never ran: no wasm fetched, no API call.
    assert.deepEqual(seen.requests.filter((u) => u.endsWith('.wasm')), [], path);
    assert.deepEqual(api(seen, widgetOrigin), [], path);
    assert.ok(seen.console.some((l) => l.includes('frame-ancestors')), `${path}: ${seen.console.join('\n')}`);
    // Because the proxy sent the page with the allow-list as its frame-ancestors.
    assert.match(resp.headers()['content-security-policy'] ?? '', /^frame-ancestors http:\/\/127\.0\.0\.1:\d+$/);
    await context.close();
  }

  // The allowed shop still embeds it (the same stack, the same policy).
  const shop = await ShopPage.visit(env, '/');
  assert.equal(await shop.w().getByRole('heading', { level: 1 }).textContent(), 'Acme support');
  await shop.close();
});

/**
 * Opens the frame on its own with `?host=<host>` and, from that same origin, sends what
 * the loader sends: init (the API is this origin) and opened (which loads the history).
 */
async function driveFrame(stack, host) {
  const { context, page, seen } = await watchedPage();
  await page.goto(`${stack.widgetOrigin}/widget/?host=${encodeURIComponent(host)}`);
  await page.locator('.ed-panel').waitFor({ state: 'attached' });
  await page.evaluate(() => {
    const send = (m) => window.postMessage(JSON.stringify(m), '*');
    send({ type: 'init', config: { proxy_url: location.origin, title: 'Forged', locale: 'en' }, store: {} });
    send({ type: 'opened' });
  });
  return { context, page, seen };
}

test('the frame opened for a host outside the allow-list shows a notice and never calls the API', async () => {
  // Control: where any host may embed the widget, this very drive gets the widget, and
  // a visitor starting a conversation there reaches the API.
  const open = await startStack({ anyHost: true });
  try {
    const { context, page, seen } = await driveFrame(open, open.widgetOrigin);
    await page.getByRole('button', { name: 'New conversation' }).click();
    await page.getByLabel('What do you need help with?').fill('Forged host');
    const called = page.waitForRequest((r) => r.url().startsWith(`${open.widgetOrigin}/v1/`));
    await page.getByRole('button', { name: 'Start conversation' }).click();
    await called;
    assert.ok(api(seen, open.widgetOrigin).length > 0);
    await context.close();
  } finally {
    await open.stop();
  }

  // Here only the shop may: the frame's own origin, forged as its host, is refused.
  const { widgetOrigin } = env.stack;
  const { context, page, seen } = await driveFrame(env.stack, widgetOrigin);
  const notice = page.getByRole('alert');
  await notice.waitFor();
  assert.match(await notice.textContent(), /may not show this EverDesk widget/);
  // Nothing to use: no conversations to start, nothing to type into.
  assert.equal(await page.getByRole('button', { name: 'New conversation' }).count(), 0);
  assert.equal(await page.getByRole('textbox').count(), 0);
  await screenshot(page, 'widget-host-refused');
  await new Promise((ok) => setTimeout(ok, 2_000));
  assert.deepEqual(api(seen, widgetOrigin), []);
  await context.close();
});
