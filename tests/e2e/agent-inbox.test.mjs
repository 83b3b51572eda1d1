// The agent inbox (/agent/) in real Chromium against the real proxy: a verified
// customer (Dana, host-signed) escalates over the API; the agent signs in by pasting a
// JWT, sees the ticket first in the queue with its hand-off, claims it and replies; the
// customer's own live stream gets the reply; once claimed, the customer's messages get
// no bot answer and appear in the inbox without a reload. Also: the demo page signs the inbox in without a URL secret
// (postMessage, and sessionStorage on the same origin), the page is never framed, and
// axe finds no serious or critical violations, driven by keyboard only.
import assert from 'node:assert/strict';
import { createHmac, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { DEMO, ROOT, screenshot, useStack } from './harness.mjs';

const env = useStack();

/** An HS256 JWT signed with the demo identity secret (what a host's backend mints). */
function jwt(claims) {
  const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const body = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ exp: Math.floor(Date.now() / 1000) + 600, ...claims })}`;
  return `${body}.${createHmac('sha256', DEMO.DEMO_IDENTITY_SECRET).update(body).digest('base64url')}`;
}

const agentJwt = (sub = 'agent-sam', name = 'Sam') => jwt({ sub, name, role: 'agent' });

async function api(path, { token, body } = {}) {
  const res = await fetch(`${env.stack.widgetOrigin}${path}`, {
    method: body ? 'POST' : 'GET',
    headers: {
      accept: 'application/json',
      ...(body ? { 'content-type': 'application/json' } : {}),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** Dana (verified by a host-signed JWT) opens a ticket, writes, and asks for a person. */
async function escalatedTicket(subject) {
  const { token } = await api('/v1/session', { body: { jwt: jwt({ sub: 'demo-dana', name: 'Dana' }) } });
  const ticketId = `inbox-${randomUUID()}`;
  await api('/v1/tickets', { token, body: { ticket_id: ticketId, subject } });
  await api(`/v1/tickets/${ticketId}/messages`, {
    token,
    body: { id: randomUUID(), content: 'My tent pole snapped. I already re-seated the pole sections.', sent_at: Date.now() },
  });
  await api(`/v1/tickets/${ticketId}/escalate`, { token, body: { reason: 'I want a person' } });
  return { token, ticketId };
}

/**
 * The customer's live stream (GET /v1/events, read as the widget does: fetch with the
 * Authorization header). `next(predicate)` resolves with the first matching event.
 */
function customerStream(token) {
  const controller = new AbortController();
  const seen = [];
  const waiters = [];
  let opened;
  const ready = new Promise((ok) => { opened = ok; });
  const done = (async () => {
    const res = await fetch(`${env.stack.widgetOrigin}/v1/events`, {
      headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
      signal: controller.signal,
    });
    assert.equal(res.status, 200);
    opened();
    const decoder = new TextDecoder();
    let buf = '';
    for await (const chunk of res.body) {
      buf += decoder.decode(chunk, { stream: true });
      let end;
      while ((end = buf.indexOf('\n\n')) >= 0) {
        const frame = buf.slice(0, end);
        buf = buf.slice(end + 2);
        const data = frame.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trim()).join('\n');
        if (!data) continue;
        const event = { ...JSON.parse(data), at: performance.now() };
        seen.push(event);
        for (const w of [...waiters]) if (w.match(event)) { waiters.splice(waiters.indexOf(w), 1); w.ok(event); }
      }
    }
  })().catch(() => {});
  return {
    ready,
    next(match, ms = 15_000) {
      const hit = seen.find(match);
      if (hit) return Promise.resolve(hit);
      return new Promise((ok, fail) => {
        const w = { match, ok };
        waiters.push(w);
        setTimeout(() => fail(new Error(`no matching customer event in ${ms} ms: ${JSON.stringify(seen)}`)), ms);
      });
    },
    async stop() { controller.abort(); await done; },
  };
}

/** A fresh context on the inbox, signed in by pasting `token` into the form. */
async function signIn(token) {
  const context = await env.browser.newContext();
  const page = await context.newPage();
  const response = await page.goto(`${env.stack.widgetOrigin}/agent/`);
  const field = page.getByLabel('Agent token (JWT)');
  await field.fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('Signed in as').waitFor();
  await page.locator('[data-testid=live-status][data-state=live]').waitFor();
  return { context, page, response };
}

const queueEntry = (page, subject) => page.locator('[data-testid=queue] li', { hasText: subject });

test('an agent sees the escalated ticket first, claims it and replies; the customer gets it live', async () => {
  const subject = `Broken tent pole ${randomUUID().slice(0, 8)}`;
  const { token, ticketId } = await escalatedTicket(subject);
  // An open (not escalated) ticket of the same customer comes after it.
  await api('/v1/tickets', { token, body: { ticket_id: `open-${randomUUID()}`, subject: 'Just browsing' } });
  const { context, page, response } = await signIn(agentJwt());
  // Never framed; the token never in the address.
  assert.match(response.headers()['content-security-policy'], /frame-ancestors 'none'/);
  assert.equal(response.headers()['x-frame-options'], 'DENY');

  const first = page.locator('[data-testid=queue] li').first();
  await first.waitFor();
  assert.equal(await first.getAttribute('data-state'), 'escalated');
  assert.match(await first.innerText(), new RegExp(subject));
  assert.match(await first.innerText(), /Dana \(verified\)/);
  assert.match(await first.innerText(), /Unclaimed/);

  await queueEntry(page, subject).getByRole('button').click();
  await page.getByRole('heading', { level: 2, name: subject }).waitFor();
  // The hand-off names the customer as the identity vouches.
  await page.locator('[data-testid=handoff-name]', { hasText: 'Dana' }).waitFor();
  assert.match(await page.locator('[data-testid=handoff-kind]').innerText(), /^Verified/);
  assert.equal(await page.locator('[data-testid=handoff-user-id]').innerText(), 'demo-dana');
  assert.match(await page.locator('[data-testid=transcript]').innerText(), /tent pole snapped/);
  assert.equal(await page.getByLabel('Your reply').isDisabled(), true, 'claim first');

  const stream = customerStream(token);
  await stream.ready;
  await page.getByRole('button', { name: 'Claim', exact: true }).click();
  await page.locator('[data-testid=ticket-claim]', { hasText: 'Claimed by you' }).waitFor();
  assert.match(await queueEntry(page, subject).innerText(), /Claimed by you/);
  // The customer's widget learns that a person has joined.
  const claimed = await stream.next((e) => e.type === 'claimed' && e.ticket_id === ticketId);
  assert.equal(claimed.agent.name, 'Sam');
  // From now on the customer's messages go to Sam: stored and shown in the inbox live,
  // answered by no bot (the answer names the agent instead).
  const asked = await api(`/v1/tickets/${ticketId}/messages`, {
    token,
    body: { id: randomUUID(), content: 'Is someone there now?', sent_at: Date.now() },
  });
  assert.equal(asked.reply, undefined, `no bot reply: ${JSON.stringify(asked)}`);
  assert.equal(asked.handled_by.name, 'Sam');
  await page.locator('[data-testid=transcript] li[data-author=customer]', { hasText: 'Is someone there now?' })
    .waitFor({ timeout: 10_000 });
  const reply = 'Hi Dana, a replacement pole is on its way.';
  await page.getByLabel('Your reply').fill(reply);
  // Typing reaches the customer (throttled: one notice for the whole burst).
  await stream.next((e) => e.type === 'typing' && e.author === 'agent' && e.ticket_id === ticketId);
  const sentAt = performance.now();
  await page.getByRole('button', { name: 'Send reply' }).click();
  const got = await stream.next((e) => e.type === 'message' && e.message.author === 'agent');
  console.log(`agent reply reached the customer's stream in ${Math.round(got.at - sentAt)} ms`);
  assert.equal(got.ticket_id, ticketId);
  assert.equal(got.message.content, reply);
  assert.equal(got.message.name, 'Sam');
  await page.locator('[data-testid=transcript] li[data-author=agent]', { hasText: reply }).waitFor();
  assert.equal(await page.locator('[data-testid=transcript] li[data-author=agent]').count(), 1, 'shown once');
  assert.equal(await page.getByLabel('Your reply').inputValue(), '');
  // The customer's transcript (another device) has it under the agent's name.
  const transcript = await api(`/v1/tickets/${ticketId}/transcript`, { token });
  assert.ok(transcript.messages.some((m) => m.author === 'agent' && m.content === reply && m.name === 'Sam'));

  // The customer answers: it appears in the inbox live, and is announced.
  await api(`/v1/tickets/${ticketId}/messages`, {
    token,
    body: { id: randomUUID(), content: 'Thank you! <b>Great</b>', sent_at: Date.now() },
  });
  const live = page.locator('[data-testid=transcript] li[data-author=customer]', { hasText: 'Thank you! <b>Great</b>' });
  await live.waitFor({ timeout: 10_000 });
  assert.equal(await page.locator('[data-testid=transcript] b').count(), 0, 'text, never HTML');
  // No bot message after the claim: the agent's reply is the only answer.
  const after = (await api(`/v1/tickets/${ticketId}/transcript`, { token })).messages;
  const from = after.findIndex((m) => m.content === 'Is someone there now?');
  assert.deepEqual(after.slice(from).map((m) => m.author), ['customer', 'agent', 'customer']);
  await page.locator('[data-testid=announcer]', { hasText: 'New message from' }).waitFor();
  await screenshot(page, 'agent-inbox-ticket');

  await page.getByRole('button', { name: 'Close ticket' }).click();
  await page.locator('[data-testid=ticket-state]', { hasText: 'Closed' }).waitFor();
  await stream.next((e) => e.type === 'closed' && e.ticket_id === ticketId);
  await queueEntry(page, subject).waitFor({ state: 'detached' });
  await stream.stop();
  assert.ok(!page.url().includes('eyJ'), 'no token in the URL');
  await context.close();
});

test('a second agent cannot claim a held ticket', async () => {
  const subject = `Refund ${randomUUID().slice(0, 8)}`;
  await escalatedTicket(subject);
  const sam = await signIn(agentJwt());
  await queueEntry(sam.page, subject).getByRole('button').click();
  await sam.page.getByRole('button', { name: 'Claim', exact: true }).click();
  await sam.page.locator('[data-testid=ticket-claim]', { hasText: 'Claimed by you' }).waitFor();
  const kim = await signIn(agentJwt('agent-kim', 'Kim'));
  await queueEntry(kim.page, subject).getByText('Claimed by Sam').waitFor();
  await queueEntry(kim.page, subject).getByRole('button').click();
  await kim.page.getByRole('button', { name: 'Claim', exact: true }).click();
  await kim.page.locator('[data-testid=ticket-error]', { hasText: 'Another agent' }).waitFor();
  assert.equal(await kim.page.getByLabel('Your reply').isDisabled(), true);
  await sam.context.close();
  await kim.context.close();
});

test('the demo page signs the inbox in without a URL secret', async () => {
  // From the shop's origin: a button opens the inbox and posts it the token.
  const context = await env.browser.newContext();
  const shop = await context.newPage();
  await shop.goto(`${env.stack.hostOrigin}/agent.html`);
  const [inbox] = await Promise.all([
    context.waitForEvent('page'),
    shop.getByRole('button', { name: 'Open agent inbox as demo agent' }).click(),
  ]);
  await inbox.getByText(`Signed in as ${DEMO.DEMO_AGENT_NAME}`).waitFor();
  await shop.getByText('signs in as Sam').waitFor();
  assert.equal(new URL(inbox.url()).pathname, '/agent/');
  assert.equal(new URL(inbox.url()).search, '');
  await context.close();
  // On the inbox's own origin: one step, through this tab's sessionStorage.
  const same = await env.browser.newContext();
  const page = await same.newPage();
  await page.goto(`${env.stack.widgetOrigin}/agent.html`);
  await page.getByText(`Signed in as ${DEMO.DEMO_AGENT_NAME}`).waitFor();
  assert.equal(new URL(page.url()).pathname, '/agent/');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('everdesk-agent.jwt')), null, 'read once');
  // A reload keeps the session (sessionStorage), a sign-out forgets it.
  await page.reload();
  await page.getByText(`Signed in as ${DEMO.DEMO_AGENT_NAME}`).waitFor();
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('Agent token (JWT)').waitFor();
  await page.reload();
  await page.getByLabel('Agent token (JWT)').waitFor();
  await same.close();
});

test('a refused token is explained; no serious or critical axe violations, keyboard only', async () => {
  const subject = `Accessibility ${randomUUID().slice(0, 8)}`;
  await escalatedTicket(subject);
  const context = await env.browser.newContext();
  const page = await context.newPage();
  await page.goto(`${env.stack.widgetOrigin}/agent/`);
  const axe = readFileSync(join(ROOT, 'node_modules/axe-core/axe.min.js'), 'utf8');
  const scan = async () => {
    await page.evaluate(axe);
    const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
    return result.violations.filter((v) => ['serious', 'critical'].includes(v.impact))
      .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  };
  const focused = () => page.evaluate(() => {
    const el = document.activeElement;
    return el?.id || el?.getAttribute('aria-label') || el?.textContent?.trim().slice(0, 40);
  });
  const tabTo = async (want, max = 25) => {
    for (let i = 0; i < max; i += 1) {
      await page.keyboard.press('Tab');
      const now = await focused();
      if (typeof want === 'function' ? want(now) : now === want) return;
    }
    throw new Error(`Tab never reached ${want}`);
  };
  assert.deepEqual(await scan(), [], 'sign-in page');
  // A customer token is not an agent's: refused, explained.
  await tabTo('ei-jwt');
  await page.keyboard.insertText(jwt({ sub: 'demo-dana', name: 'Dana' }));
  await page.keyboard.press('Tab');
  await page.keyboard.press('Enter');
  await page.locator('[data-testid=sign-in-error]', { hasText: 'refused' }).waitFor();
  // The agent's, by keyboard only.
  await page.keyboard.press('Shift+Tab');
  assert.equal(await focused(), 'ei-jwt');
  await page.keyboard.insertText(agentJwt());
  await page.keyboard.press('Tab');
  await page.keyboard.press('Enter');
  await page.locator('[data-testid=live-status][data-state=live]').waitFor();
  await queueEntry(page, subject).waitFor();
  await tabTo((t) => typeof t === 'string' && t.startsWith(subject));
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.activeElement?.id === 'ei-ticket-title');
  await page.locator('[data-testid=handoff]').waitFor();
  await tabTo('Claim');
  await page.keyboard.press('Enter');
  await page.locator('[data-testid=ticket-claim]', { hasText: 'Claimed by you' }).waitFor();
  // Claimed: focus moves on to the reply box.
  await page.waitForFunction(() => document.activeElement?.id === 'ei-reply');
  await page.keyboard.insertText('Typed and sent with the keyboard only.');
  await page.keyboard.press('Control+Enter');
  await page.locator('[data-testid=transcript] li[data-author=agent]', { hasText: 'keyboard only' }).waitFor();
  assert.deepEqual(await scan(), [], 'ticket view');
  // Focus is visible: the focused control has an outline.
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  assert.notEqual(outline, 'none');
  await screenshot(page, 'agent-inbox-keyboard');
  await context.close();
});
