// The whole customer journey on the verified-customer demo page, against the real
// proxy pointed at a local-everos with test controls: new ticket → message → reply
// → reload keeps the transcript → close with a rating → the closed ticket is
// recalled in the next one → escalate → hand-off card. EverOS's request log proves
// what was stored, for whom, and that nothing was stored twice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEMO, screenshot, useStack } from './harness.mjs';
import { ShopPage } from './shop-page.mjs';

const env = useStack({ everos: true });

test('a verified customer goes through the whole journey', async () => {
  const violations = [];
  const shop = await ShopPage.visit(env, '/account.html', {
    watch: (page) => page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) violations.push(m.text()); }),
  });
  const page = shop.page;
  await screenshot(page, 'home-empty');

  await shop.newTicket('Tent pole snapped');
  await shop.send("Hi, I'm Dana. The tent pole snapped on my first trip, order 4417.");
  await screenshot(page, 'conversation');

  // Reload: the transcript is still there (browser storage), and the ticket is listed.
  await page.reload();
  await shop.open();
  await shop.w().getByRole('button', { name: /Tent pole snapped/ }).click();
  await shop.message('The tent pole snapped on my first trip').waitFor();
  assert.equal(await shop.w().locator('li.ed-msg--mine').count(), 1);

  // Close with a rating: read-only afterwards.
  await shop.w().getByRole('button', { name: 'Close ticket' }).click();
  await shop.w().getByRole('radio', { name: '5 out of 5' }).check();
  await shop.w().getByRole('button', { name: 'Close ticket' }).click();
  await shop.w().getByText('This ticket is closed.').waitFor();
  assert.equal(await shop.composer().count(), 0);
  const closedId = (await shop.stored('everdesk:v1:tickets'))[0].id;
  const closed = await shop.stored(`everdesk:v1:ticket:${closedId}`);
  assert.equal(closed.status, 'closed');
  assert.equal(closed.rating, 5, 'the chosen rating is kept with the closed ticket');

  // Back on the list, the closed ticket is recalled as past history.
  await shop.backToList();
  const history = shop.w().getByRole('region', { name: 'From your past tickets' });
  await history.locator('.ed-history__item').first().waitFor();
  assert.match(await history.textContent(), /pole/i);
  await screenshot(page, 'recalled-history');

  // The next ticket: the reply points at the similar past issue.
  await shop.newTicket('Replacement pole');
  await shop.send('The replacement pole snapped as well.');
  const replies = shop.w().locator('li.ed-msg:not(.ed-msg--mine)');
  assert.match(await replies.last().textContent(), /similar issue before/i);

  // Escalate: the hand-off summary card is shown and kept in the ticket.
  await shop.w().getByRole('button', { name: 'Talk to a person' }).click();
  const card = shop.w().getByRole('region', { name: 'Handed over to a person' });
  await card.waitFor();
  assert.match(await card.textContent(), /What we tried/);
  await screenshot(page, 'handoff');
  const ticketId = (await shop.stored('everdesk:v1:tickets'))[0].id;
  const record = await shop.stored(`everdesk:v1:ticket:${ticketId}`);
  assert.ok(record.handoff, 'the hand-off is kept in the ticket state');

  // What EverOS received (v2): Dana's turns sent as Dana, the bot's as the one bot id,
  // in sessions bound to Dana; each customer message exactly once.
  const added = await env.stack.everos.addedMessages();
  assert.ok(added.length > 0);
  const turns = (role) => added.filter((m) => m.role === role);
  assert.ok(turns('user').every((m) => m.sender_id === DEMO.DEMO_USER_ID), JSON.stringify(added));
  assert.ok(turns('assistant').every((m) => m.sender_id === 'everdesk-assistant'), JSON.stringify(added));
  const suffixes = new Set(added.map((m) => m.session_id.slice(-32)));
  assert.equal(suffixes.size, 1, 'every session carries the same customer digest');
  const mine = added.filter((m) => m.role === 'user').map((m) => m.content);
  assert.deepEqual(mine, [
    "Hi, I'm Dana. The tent pole snapped on my first trip, order 4417.",
    'The replacement pole snapped as well.',
  ]);
  // One flush when the first ticket closed, one when the second was handed over.
  const flushes = await env.stack.everos.requests('flush');
  assert.equal(flushes.length, 2);
  // The frame runs under its own strict policy, and nothing in the journey broke it.
  assert.deepEqual(violations, []);
  await shop.close();
});

test('a closed ticket reopens as a new one, and forget-me wipes memory and local state', async () => {
  // The visitor's id, from the session answers (the tokens themselves may be kept
  // where no test script can read them: see blocked-storage.test.mjs).
  const sessions = [];
  const shop = await ShopPage.visit(env, '/', {
    watch: (page) => page.on('response', (r) => {
      const path = new URL(r.url()).pathname;
      if (/^\/v1\/session(\/cookie)?$/.test(path) && r.request().method() === 'POST') sessions.push(r.json());
    }),
  });
  await shop.newTicket('Lost parcel');
  await shop.send("My name is Sam and my parcel never arrived. Please email me.");
  await shop.w().getByRole('button', { name: 'Close ticket' }).click();
  await shop.w().getByRole('button', { name: 'Close ticket' }).click();
  await shop.w().getByRole('button', { name: 'Reopen as a new conversation' }).click();
  await shop.w().getByRole('heading', { level: 2, name: 'Lost parcel' }).waitFor();
  assert.equal(await shop.composer().count(), 1, 'the new ticket is open');
  await shop.backToList();
  assert.equal(await shop.w().getByRole('button', { name: /Lost parcel/ }).count(), 2);

  // What we remember: the profile arrives late (EverOS extracts it after the flush).
  const visitor = (await Promise.all(sessions)).at(-1).customer.id;
  await shop.w().getByRole('button', { name: 'What we remember' }).click();
  await shop.w().getByRole('heading', { name: 'What we remember' }).waitFor();
  await shop.w().getByRole('button', { name: 'Forget me' }).click();
  await shop.w().getByRole('button', { name: 'Yes, forget me' }).click();
  await shop.w().getByText('We no longer remember anything about you.').waitFor();
  const deletes = (await env.stack.everos.requests('delete')).filter((r) => r.status < 300);
  assert.deepEqual(deletes.map((r) => r.body), [{ user_id: visitor }]);
  assert.equal(await shop.stored('everdesk:v1:tickets'), null);
  // Back on the home screen, with nothing left locally.
  await shop.w().getByText('No conversations yet.').waitFor();
  await shop.close();
});

test('shutdown called before the widget has loaded still forgets the last visitor', async () => {
  const shop = await ShopPage.visit(env, '/');
  await shop.newTicket('Private matter');
  await shop.w().getByRole('heading', { level: 2, name: 'Private matter' }).waitFor();
  assert.notEqual(await shop.stored('everdesk:v1:tickets'), null);
  // The host logs the visitor out on its next page, before the loader has even run
  // (the call waits in the pre-load queue), so before the widget frame exists.
  await shop.page.addInitScript(() => {
    if (window !== window.top) return;
    window.EverDesk = function () { (window.EverDesk.q = window.EverDesk.q || []).push(arguments); };
    window.EverDesk('shutdown');
  });
  await shop.goto('/');
  await shop.open();
  await shop.w().getByText('No conversations yet.').waitFor();
  assert.equal(await shop.stored('everdesk:v1:tickets'), null);
  assert.equal(await shop.stored('everdesk:v1:session'), null);
  await shop.close();
});
