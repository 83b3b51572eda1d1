// The developer preview: `trunk serve`, with the repository's Trunk.toml, serves the
// demo shop at / embedding the widget through the loader (a debug build of the frame at
// /widget/, live reload), and forwards the widget's API calls to a real proxy through
// its [[proxy]]: a conversation started in the preview gets the proxy's reply.
// The first debug build of the widget can take minutes; later ones reuse target/.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { freePort, launchBrowser, ROOT, screenshot, startStack } from './harness.mjs';
import { ShopPage } from './shop-page.mjs';

const BUILD_TIMEOUT = 20 * 60_000;
const env = {};
let trunk;
let trunkLog = '';
let config;
let dist;

/**
 * Trunk.toml as it is, but forwarding to this test's proxy instead of :8787; written
 * next to Trunk.toml, so every relative path in it means the same.
 */
function trunkConfig(proxyPort, port) {
  const from = 'backend = "http://127.0.0.1:8787/v1/"';
  const text = readFileSync(join(ROOT, 'Trunk.toml'), 'utf8');
  if (!text.includes(from)) throw new Error(`Trunk.toml has no ${from}`);
  config = join(ROOT, `.trunk-e2e-${port}.toml`);
  writeFileSync(config, text.replace(from, `backend = "http://127.0.0.1:${proxyPort}/v1/"`));
  return config;
}

/**
 * Resolves once `url` answers 200; fails if trunk exits, or answers anything else once
 * it serves (Trunk serves only after its first build), or the build takes too long.
 */
async function served(url) {
  const t0 = Date.now();
  for (;;) {
    if (trunk.exitCode !== null) throw new Error(`trunk serve exited ${trunk.exitCode}:\n${trunkLog}`);
    if (Date.now() - t0 > BUILD_TIMEOUT) throw new Error(`trunk serve never served ${url}:\n${trunkLog}`);
    let status;
    try {
      status = (await fetch(url)).status;
    } catch { /* not listening yet */ }
    if (status === 200) return;
    if (status) throw new Error(`trunk serve answers ${url} with ${status}`);
    await new Promise((ok) => setTimeout(ok, 500));
  }
}

before(async () => {
  env.stack = await startStack();
  const port = await freePort();
  const proxyPort = new URL(env.stack.hostOrigin).port;
  // Its own output dir, so a developer's preview (target/widget-preview) is left alone.
  dist = `target/e2e-preview-${port}`;
  const args = ['serve', '--config', trunkConfig(proxyPort, port), '--port', String(port), '--dist', dist];
  trunk = spawn('trunk', args, {
    cwd: ROOT,
    // As scripts/env.sh: cargo-installed trunk and wasm-bindgen, npm tools.
    env: { ...process.env, PATH: `${join(homedir(), '.cargo/bin')}:${join(ROOT, 'node_modules/.bin')}:${process.env.PATH}` },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  trunk.stdout.on('data', (d) => { trunkLog += d; });
  trunk.stderr.on('data', (d) => { trunkLog += d; });
  env.preview = { hostOrigin: `http://127.0.0.1:${port}`, widgetOrigin: `http://localhost:${port}` };
  await served(`${env.preview.hostOrigin}/`);
  env.browser = await launchBrowser();
}, { timeout: BUILD_TIMEOUT + 60_000 });

after(async () => {
  await env.browser?.close();
  if (trunk && trunk.exitCode === null) {
    trunk.kill('SIGINT');
    await new Promise((ok) => trunk.once('exit', ok));
  }
  if (config) rmSync(config, { force: true });
  if (dist) rmSync(join(ROOT, dist), { recursive: true, force: true });
  await env.stack?.stop();
});

// The first build happens in `before`, which this test waits for: allow its time.
test('trunk serve previews the widget in the demo shop, talking to a real proxy', { timeout: BUILD_TIMEOUT + 120_000 }, async () => {
  const { hostOrigin, widgetOrigin } = env.preview;
  const errors = [];
  const sockets = [];
  const shop = await ShopPage.visit({ browser: env.browser, stack: env.preview }, '/', {
    open: false,
    watch: (page) => {
      page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
      page.on('websocket', (ws) => sockets.push(ws.url()));
    },
  });
  // The loader came from the dev server under its other name, and framed the widget there.
  assert.ok(shop.requests.includes(`${widgetOrigin}/loader.js`), shop.requests.join('\n'));
  await shop.open();
  const src = await shop.frameElement().getAttribute('src');
  assert.ok(src.startsWith(`${widgetOrigin}/widget/?host=${encodeURIComponent(hostOrigin)}`), src);

  // A conversation through Trunk's [[proxy]] to the real proxy, and its reply.
  await shop.newTicket('Preview: where is my tent?');
  await shop.send('Order 1234 has not arrived');
  const api = shop.requests.filter((u) => u.startsWith(`${widgetOrigin}/v1/`));
  assert.ok(api.some((u) => /\/v1\/session(\/cookie)?$/.test(u)), api.join('\n'));
  assert.ok(api.some((u) => /\/v1\/tickets\/[^/]+\/messages$/.test(u)), api.join('\n'));
  await screenshot(shop.page, 'trunk-preview');

  // Live reload: the shop page holds Trunk's reload socket; the frame keeps its own
  // Content-Security-Policy and nothing broke it.
  assert.ok(sockets.some((u) => u === `ws://127.0.0.1:${new URL(hostOrigin).port}/.well-known/trunk/ws`), sockets.join('\n'));
  const policy = await shop.frame().evaluate(() => document.querySelector('meta[http-equiv="Content-Security-Policy"]')?.content);
  assert.match(policy, /script-src 'self' 'wasm-unsafe-eval' 'sha256-/);
  assert.deepEqual(errors.filter((e) => /Content Security Policy|Refused/.test(e)), []);

  // A change to what the preview is built from rebuilds it and reloads the page: a new
  // file in demo/ (never an edit of a developer's file; removed right after).
  const reloaded = shop.page.waitForEvent('framenavigated', {
    predicate: (f) => f === shop.page.mainFrame(),
    timeout: 120_000,
  });
  const marker = join(ROOT, 'demo', `.e2e-reload-${new URL(hostOrigin).port}`);
  try {
    writeFileSync(marker, 'live reload check\n');
    await reloaded;
  } finally {
    rmSync(marker, { force: true });
  }
  await shop.launcher().waitFor();
  await shop.close();
});
