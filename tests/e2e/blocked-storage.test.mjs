// The frame's own storage blocked (as browsers that block third-party storage do;
// Chromium here also blocks unpartitioned third-party cookies): the frame mirrors its
// state into the host page's localStorage, but nothing there is a credential. Every
// mirrored value is replayed against the proxy from the host page (an origin the
// proxy's CORS allows, the worst case) and from outside the browser: all refused.
// The visitor is kept by the proxy's HttpOnly, partitioned cookie instead, so a reload
// resumes the visitor's conversation; the host's logout forgets it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useStack } from './harness.mjs';
import { ShopPage } from './shop-page.mjs';

const env = useStack({ corsHost: true });

/** A fresh context whose widget frame gets a localStorage that throws on access. */
async function blockedShop() {
  const context = await env.browser.newContext();
  await context.addInitScript((origin) => {
    if (location.origin !== origin) return;
    Object.defineProperty(window, 'localStorage', {
      configurable: true,
      get() { throw new DOMException('third-party storage is blocked', 'SecurityError'); },
    });
  }, env.stack.widgetOrigin);
  const shop = new ShopPage(await context.newPage(), env.stack);
  shop.context = context;
  // Every visitor session the frame opens, in order.
  shop.sessions = [];
  shop.page.on('response', (r) => {
    if (r.url().endsWith('/v1/session/cookie') && r.request().method() === 'POST') {
      shop.sessions.push(r.json());
    }
  });
  return shop;
}

/** The host page's `everdesk:` keys and raw values. */
function hostMirror(page) {
  return page.evaluate(() => Object.fromEntries(Object.keys(localStorage)
    .filter((k) => k.startsWith('everdesk:')).map((k) => [k, localStorage.getItem(k)])));
}

/** Every string in the mirror: keys, raw values, and each string inside their JSON. */
function candidates(mirror) {
  const out = new Set();
  const walk = (v) => {
    if (typeof v === 'string') out.add(v);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  for (const [key, raw] of Object.entries(mirror)) {
    out.add(key);
    out.add(raw);
    try { walk(JSON.parse(raw)); } catch { /* not JSON: the raw value is tried */ }
  }
  return [...out].filter((s) => s.length > 0);
}

/** Statuses of `GET /v1/profile` with `values` as bearer tokens, sent by the host page. */
function replayFromHost(page, origin, values) {
  return page.evaluate(async ({ origin, values }) => Promise.all(values.map((v) => {
    let header;
    try { header = `Bearer ${v}`; new Headers({ authorization: header }); } catch { return 'not a header'; }
    return fetch(`${origin}/v1/profile`, { headers: { authorization: header } })
      .then((r) => r.status, () => 'network error');
  })), { origin, values });
}

/** The status of `POST /v1/session` with `value` as the visitor token, from outside. */
async function replayAsVisitorToken(value) {
  const r = await fetch(`${env.stack.widgetOrigin}/v1/session`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ visitor_token: value }),
  });
  return r.status;
}

test('no credential reaches the host page, and a reload still resumes the visitor', async () => {
  const { widgetOrigin } = env.stack;
  // An older widget left both tokens in the host's storage: they are removed, not used.
  const legacy = await (await fetch(`${widgetOrigin}/v1/session`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}',
  })).json();
  const shop = await blockedShop();
  const page = shop.page;
  await page.addInitScript(({ legacy }) => {
    if (window !== window.top || localStorage.getItem('test:seeded')) return;
    localStorage.setItem('test:seeded', '1');
    localStorage.setItem('everdesk:v1:visitor', JSON.stringify({ v: 1, d: legacy.visitor_token }));
    localStorage.setItem('everdesk:v1:session', JSON.stringify({ v: 1, d: { owner: 'visitor', session: legacy } }));
  }, { legacy });
  await shop.goto('/');
  await shop.open();
  const blocked = await shop.frame().evaluate(() => {
    try { localStorage.length; return false; } catch { return true; }
  });
  assert.ok(blocked, "the frame's own storage is blocked");
  await shop.newTicket('Parcel never arrived');
  await shop.send('My parcel 4417 never arrived, can you check?');

  // The mirror works (the conversation is there) and holds no credential.
  const mirror = await hostMirror(page);
  const keys = Object.keys(mirror);
  assert.ok(keys.includes('everdesk:v1:tickets'), `mirrored: ${keys}`);
  assert.ok(keys.some((k) => k.startsWith('everdesk:v1:ticket:')), `mirrored: ${keys}`);
  assert.ok(!keys.includes('everdesk:v1:session') && !keys.includes('everdesk:v1:visitor'), `mirrored: ${keys}`);

  const [first] = await Promise.all(shop.sessions);
  assert.ok(first, 'the visitor session came from the cookie route');
  assert.notEqual(first.customer.id, legacy.customer.id, 'a mirrored visitor token is not adopted');
  assert.equal(first.visitor_token, undefined, 'no visitor token in the body');
  const all = JSON.stringify(mirror);
  assert.ok(!all.includes(first.token), 'the session token is not mirrored');

  // The visitor lives in an HttpOnly, partitioned cookie the host cannot read.
  const visitorCookies = async () => (await shop.context.cookies(`${widgetOrigin}/v1/session/cookie`))
    .filter((c) => c.name === 'everdesk_visitor');
  const cookies = await visitorCookies();
  assert.equal(cookies.length, 1, JSON.stringify(cookies));
  const [cookie] = cookies;
  assert.deepEqual(
    { httpOnly: cookie.httpOnly, secure: cookie.secure, sameSite: cookie.sameSite, partitionKey: cookie.partitionKey, path: cookie.path },
    // Partitioned by the host's site; scoped to the session routes.
    { httpOnly: true, secure: true, sameSite: 'None', partitionKey: 'http://127.0.0.1', path: '/v1/session' },
  );
  assert.ok(!all.includes(cookie.value), 'the visitor token is not mirrored');
  assert.ok(!(await shop.frame().evaluate(() => document.cookie)).includes('everdesk_visitor'));
  assert.ok(!(await page.evaluate(() => document.cookie)).includes('everdesk_visitor'));

  // Replay every mirrored string, as a host-page script could: refused as a bearer (from
  // the host page and from outside) and as a visitor token.
  const values = candidates(mirror);
  assert.ok(values.length > 5, `replayed ${values.length} values`);
  const fromHost = await replayFromHost(page, widgetOrigin, values);
  assert.deepEqual(
    values.filter((_, i) => fromHost[i] !== 401 && fromHost[i] !== 'not a header'),
    [], 'every mirrored value is refused as a bearer',
  );
  for (const v of values) {
    const r = await fetch(`${widgetOrigin}/v1/profile`, { headers: { authorization: `Bearer ${v}` } })
      .then((r) => r.status, () => 'not a header');
    assert.ok(r === 401 || r === 'not a header', `bearer ${v.slice(0, 40)}: ${r}`);
    assert.equal(await replayAsVisitorToken(v), 401, `visitor token ${v.slice(0, 40)}`);
  }
  // The controls: the frame's real credentials would have been accepted.
  assert.deepEqual(await replayFromHost(page, widgetOrigin, [first.token]), [200]);
  assert.equal(await replayAsVisitorToken(cookie.value), 200);
  // The host page cannot resume the visitor through the browser's cookie either.
  const resumed = await page.evaluate(async (origin) => fetch(`${origin}/v1/session/cookie`, {
    method: 'POST', credentials: 'include', headers: { 'content-type': 'application/json' }, body: '{}',
  }).then((r) => r.status, () => 'refused'), widgetOrigin);
  assert.ok(resumed === 'refused' || resumed === 403, `host resume: ${resumed}`);

  // A reload: the conversation is listed (mirror), the visitor resumed (cookie), and the
  // proxy lets it go on with that ticket.
  shop.sessions.length = 0;
  await page.reload();
  await shop.open();
  await shop.w().getByRole('button', { name: /Parcel never arrived/ }).click();
  await shop.message('My parcel 4417 never arrived').waitFor();
  await shop.send('Any news on it?');
  const again = await Promise.all(shop.sessions);
  assert.ok(again.length >= 1);
  assert.ok(again.every((s) => s.customer.id === first.customer.id), 'the same visitor after the reload');
  assert.deepEqual(Object.keys(await hostMirror(page)).filter((k) => /session|visitor/.test(k)), []);

  // The host's logout forgets the visitor: the next person here is a new one.
  const cleared = page.waitForResponse((r) => r.url().endsWith('/v1/session/cookie') && r.request().method() === 'DELETE');
  await page.evaluate(() => window.EverDesk('shutdown'));
  assert.equal((await cleared).status(), 204);
  assert.deepEqual(await visitorCookies(), []);
  const nextSession = page.waitForResponse((r) => r.url().endsWith('/v1/session/cookie') && r.request().method() === 'POST');
  await page.reload();
  await shop.open();
  assert.equal(await shop.w().getByRole('button', { name: /Parcel never arrived/ }).count(), 0);
  await shop.newTicket('Someone else');
  const next = await (await nextSession).json();
  assert.notEqual(next.customer.id, first.customer.id, 'a new visitor after the logout');
  await shop.close();
});

test('a verified customer is re-verified from the host on each load, nothing stored for it', async () => {
  const shop = await blockedShop();
  const page = shop.page;
  const opened = [];
  page.on('response', (r) => {
    if (r.url().endsWith('/v1/session') && r.request().method() === 'POST') opened.push(r.json());
  });
  await shop.goto('/account.html');
  await shop.open();
  await shop.newTicket('Verified and blocked');
  await shop.send('Hello from a signed-in customer');
  const mirror = await hostMirror(page);
  const [session] = await Promise.all(opened);
  assert.equal(session.customer.kind, 'verified');
  assert.ok(!JSON.stringify(mirror).includes(session.token), 'the session token is not mirrored');
  assert.deepEqual(Object.keys(mirror).filter((k) => /session|visitor/.test(k)), []);
  await page.reload();
  await shop.open();
  await shop.w().getByRole('button', { name: /Verified and blocked/ }).click();
  await shop.send('Still me after a reload');
  assert.ok(opened.length >= 2, 'a new session from the host identity after the reload');
  const ids = new Set((await Promise.all(opened)).map((s) => s.customer.id));
  assert.equal(ids.size, 1);
  await shop.close();
});
