// The end-to-end stack: the real everdesk-proxy (with its embedded local EverOS)
// serving a staged copy of dist/ on a free loopback port, and Debian's Chromium
// driven by playwright-core. The demo host page is opened on http://127.0.0.1:PORT
// while the widget lives on http://localhost:PORT: two origins, as in production.
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

export const ROOT = resolve(import.meta.dirname, '../..');
export const ARTIFACTS = join(ROOT, 'tests/e2e/artifacts');
const PROXY_BIN = process.env.EVERDESK_PROXY_BIN || join(ROOT, 'target/debug/everdesk-proxy');

/** A port that was free a moment ago. */
async function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.on('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
  });
}

/** Copies dist/ and points the demo pages' snippet at `widgetOrigin`. */
function stageDist(dir, widgetOrigin) {
  cpSync(join(ROOT, 'dist'), dir, { recursive: true });
  for (const name of readdirSync(dir)) {
    if (!name.endsWith('.html')) continue;
    const file = join(dir, name);
    writeFileSync(file, readFileSync(file, 'utf8').replaceAll('http://localhost:8787', widgetOrigin));
    rmSync(`${file}.gz`, { force: true });
  }
}

/** Starts the proxy; resolves once it prints its listening line. */
export async function startStack({ env = {} } = {}) {
  const port = await freePort();
  const work = mkdtempSync(join(tmpdir(), 'everdesk-e2e-'));
  const widgetOrigin = `http://localhost:${port}`;
  stageDist(join(work, 'dist'), widgetOrigin);
  const child = spawn(PROXY_BIN, ['--listen', `127.0.0.1:${port}`, '--widget-dir', join(work, 'dist')], {
    cwd: work,
    env: { ...process.env, RUST_LOG: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stderr.on('data', (d) => { log += d; });
  await new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`proxy did not start in 30 s:\n${log}`)), 30_000);
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('listening on http://')) { clearTimeout(timer); ok(); }
    });
    child.on('exit', (code) => { clearTimeout(timer); fail(new Error(`proxy exited ${code}:\n${log}`)); });
  });
  return {
    hostOrigin: `http://127.0.0.1:${port}`,
    widgetOrigin,
    log: () => log,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((ok) => (child.exitCode !== null ? ok() : child.once('exit', ok)));
      rmSync(work, { recursive: true, force: true });
    },
  };
}

/** Headless Debian Chromium, no downloads, no background networking. */
export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
      '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run',
    ],
  });
}

/** Saves a screenshot of a main state as a test artifact. */
export async function screenshot(page, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });
}
