// The end-to-end stack: the real everdesk-proxy (with its embedded local EverOS)
// serving a staged copy of dist/ on a free loopback port, and Debian's Chromium
// driven by playwright-core. The demo host page is opened on http://127.0.0.1:PORT
// while the widget lives on http://localhost:PORT: two origins, as in production.
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before } from 'node:test';
import { chromium } from 'playwright-core';

export const ROOT = resolve(import.meta.dirname, '../..');
export const ARTIFACTS = join(ROOT, 'tests/e2e/artifacts');
const PROXY_BIN = process.env.EVERDESK_PROXY_BIN || join(ROOT, 'target/debug/everdesk-proxy');
const EVEROS_BIN = process.env.LOCAL_EVEROS_BIN || join(ROOT, 'target/debug/local-everos');
const EVEROS_KEY = 'e2e-everos-key';

/** The demo's local identity (scripts/demo-identity.env), shared with build-widget. */
export const DEMO = Object.fromEntries(
  readFileSync(join(ROOT, 'scripts/demo-identity.env'), 'utf8')
    .split('\n')
    .filter((l) => /^[A-Z_]+=/.test(l))
    .map((l) => l.split(/=(.*)/s).slice(0, 2)),
);

/** A port that was free a moment ago. */
export async function freePort() {
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

/** Spawns `bin` and resolves with the address from its `listening on http://ADDR` line. */
function spawnListening(bin, args, opts) {
  const child = spawn(bin, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stderr.on('data', (d) => { log += d; });
  const ready = new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`${bin} did not start in 30 s:\n${log}`)), 30_000);
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/\S+)/);
      if (m) { clearTimeout(timer); ok(m[1]); }
    });
    child.on('exit', (code) => { clearTimeout(timer); fail(new Error(`${bin} exited ${code}:\n${log}`)); });
  });
  return { child, ready, log: () => log };
}

async function stop(child) {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  await new Promise((ok) => child.once('exit', ok));
}

/**
 * Starts the proxy, by default with its embedded local EverOS. With `everos: true`
 * a separate `local-everos --test-controls` is started and the proxy pointed at it
 * (the EverOS Cloud code path), so tests can read its request log and inject faults.
 * Only the demo host origin may embed the widget, as with scripts/run
 * (`anyHost: true`: no allow-list, any site may). `corsHost: true` also lets the demo
 * host origin call the API from its own scripts (CORS), as an integrator's site may.
 */
export async function startStack({ everos = false, anyHost = false, corsHost = false, env = {} } = {}) {
  const port = await freePort();
  const work = mkdtempSync(join(tmpdir(), 'everdesk-e2e-'));
  const widgetOrigin = `http://localhost:${port}`;
  stageDist(join(work, 'dist'), widgetOrigin);
  const procs = [];
  let fake;
  const proxyEnv = { ...process.env, RUST_LOG: 'warn', EVERDESK_IDENTITY_SECRET: DEMO.DEMO_IDENTITY_SECRET };
  delete proxyEnv.EVERDESK_ALLOWED_HOSTS;
  if (!anyHost) proxyEnv.EVERDESK_ALLOWED_HOSTS = `http://127.0.0.1:${port}`;
  if (corsHost) proxyEnv.EVERDESK_ALLOWED_ORIGINS = `http://127.0.0.1:${port}`;
  Object.assign(proxyEnv, env);
  try {
    if (everos) {
      const e = spawnListening(EVEROS_BIN, ['--listen', '127.0.0.1:0', '--api-key', EVEROS_KEY, '--in-memory',
        '--profile-delay-ms', '300', '--test-controls'], { cwd: work, env: { ...process.env, RUST_LOG: 'warn' } });
      procs.push(e.child);
      const base = await e.ready;
      fake = new FakeEverOS(base);
      proxyEnv.EVEROS_BASE_URL = base;
      proxyEnv.EVEROS_API_KEY = EVEROS_KEY;
    }
    const p = spawnListening(PROXY_BIN, ['--listen', `127.0.0.1:${port}`, '--widget-dir', join(work, 'dist'),
      '--data-dir', join(work, 'data')], { cwd: work, env: proxyEnv });
    procs.push(p.child);
    await p.ready;
    return {
      hostOrigin: `http://127.0.0.1:${port}`,
      widgetOrigin,
      everos: fake,
      log: p.log,
      async stop() {
        for (const c of procs.reverse()) await stop(c);
        rmSync(work, { recursive: true, force: true });
      },
    };
  } catch (e) {
    for (const c of procs) await stop(c);
    throw e;
  }
}

/** The test controls of a local-everos started with --test-controls. */
export class FakeEverOS {
  constructor(base) { this.base = base; }

  /** Requests received, optionally for one route (`add`, `flush`, `search`, …). */
  async requests(route) {
    const res = await fetch(`${this.base}/_test/requests${route ? `?route=${route}` : ''}`);
    return (await res.json()).requests;
  }

  /**
   * The messages of every add, flattened: `{ user_id, sender_id, session_id, role, content }`.
   * `user_id` is the owner: the add's own on v1, the sender of a user turn on v2 (where
   * ownership comes from `sender_id`; bot turns own nothing).
   */
  async addedMessages() {
    const adds = await this.requests('add');
    return adds.filter((r) => r.status < 300 && r.body).flatMap((r) =>
      r.body.messages.map((m) => ({
        user_id: r.body.user_id ?? (m.role === 'user' ? m.sender_id : undefined),
        sender_id: m.sender_id,
        session_id: r.body.session_id,
        role: m.role,
        content: m.content,
      })));
  }

  /** Injects a fault: `{ route, status?, times?, delay_ms? }`. */
  async fault(spec) {
    const res = await fetch(`${this.base}/_test/faults`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(spec),
    });
    if (!res.ok) throw new Error(`fault refused: ${res.status}`);
  }
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

/**
 * The fixture of one test file: a stack (see `startStack`) and a browser, started
 * before its tests and stopped after them. Read `env.stack` and `env.browser`.
 */
export function useStack(options = {}) {
  const env = {};
  before(async () => {
    env.stack = await startStack(options);
    env.browser = await launchBrowser();
  });
  after(async () => {
    await env.browser?.close();
    await env.stack?.stop();
  });
  return env;
}
