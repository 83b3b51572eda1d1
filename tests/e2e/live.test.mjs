// People who answer, seen from the customer's widget: the verified demo customer
// escalates; an agent (direct HTTP calls with a host-minted agent JWT, signed here
// with the demo identity secret) claims and replies; the widget shows the reply live
// with the agent's name, announced once; once claimed, the customer's messages get no
// bot answer ("Ann is handling this conversation"); the agent closes and the widget
// shows it closed. A second browser context for the same customer, with empty storage,
// shows the same ticket, transcript and hand-off card with who joined (the server is
// the source of truth across devices).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { signInAgent } from './agent-api.mjs';
import { screenshot, useStack } from './harness.mjs';
import { ShopPage } from './shop-page.mjs';

const env = useStack();

test('an agent claims, replies live with their name (announced once) and closes; a second device sees it all', async () => {
  const shop = await ShopPage.visit(env, '/account.html');
  const w = shop.w();
  await shop.newTicket('Stove will not light');
  await shop.send('My camping stove will not light, order 5120.');
  await w.getByRole('button', { name: 'Talk to a person' }).click();
  await w.getByRole('region', { name: 'Handed over to a person' }).waitFor();
  const ticketId = (await shop.stored('everdesk:v1:tickets'))[0].id;

  const agent = await signInAgent(env.stack.widgetOrigin, 'ann', 'Ann');
  const queue = await agent('GET', '/v1/agent/queue');
  const item = queue.tickets.find((t) => t.ticket.id === ticketId);
  assert.ok(item, `the escalated ticket is in the queue: ${JSON.stringify(queue)}`);
  assert.equal(item.state, 'escalated');
  const sid = item.ticket.session_id;

  await agent('POST', `/v1/agent/tickets/${sid}/claim`);
  await w.getByText('Ann has joined').waitFor();
  await w.locator('[data-testid=handling]', { hasText: 'Ann is handling this conversation' }).waitFor();

  // Now a person has it: the customer's message is delivered, and no bot answers it
  // (no typing placeholder, no reply bubble, no retry error).
  const incoming = () => w.locator('li.ed-msg:not(.ed-msg--mine)').count();
  const before = await incoming();
  const question = 'Is the igniter covered by the warranty?';
  await shop.type(question);
  await shop.message(question).and(w.locator('[data-delivery=sent]')).waitFor();
  await shop.page.waitForTimeout(500);
  assert.equal(await incoming(), before, 'no bot reply once a person has the ticket');
  assert.equal(await w.locator('.ed-typing:not(.ed-typing--agent)').count(), 0, 'no bot typing');
  assert.equal(await w.locator('[data-delivery=failed]').count(), 0);
  const seen = await agent('GET', `/v1/agent/tickets/${sid}`);
  assert.equal(seen.transcript.at(-1).content, question, 'the agent has the message');

  // Count what the polite live region says from now on.
  await shop.frame().evaluate(() => {
    window.__said = [];
    const region = document.querySelector('[data-testid=announcer]');
    new MutationObserver(() => window.__said.push(region.textContent)).observe(region, {
      childList: true, subtree: true, characterData: true,
    });
  });
  const reply = 'Hi Dana, Ann here. A replacement igniter ships today.';
  const sent = Date.now();
  await agent('POST', `/v1/agent/tickets/${sid}/messages`, { id: randomUUID(), content: reply });
  const bubble = shop.message(reply);
  await bubble.waitFor({ timeout: 10_000 });
  const deliveryMs = Date.now() - sent;
  console.log(`live delivery of the agent's reply: ${deliveryMs} ms`);
  assert.match(await bubble.locator('[data-testid=author]').textContent(), /^Ann/);
  await shop.page.waitForTimeout(300);
  const said = await shop.frame().evaluate(() => window.__said.filter((t) => t.trim() !== ''));
  assert.equal(said.filter((t) => t.includes(reply)).length, 1, `announced once: ${JSON.stringify(said)}`);
  await screenshot(shop.page, 'agent-reply-live');

  await agent('POST', `/v1/agent/tickets/${sid}/close`, {});
  await w.getByText('This ticket is closed.').waitFor();
  assert.equal(await shop.composer().count(), 0);

  // The same customer on a second device (a fresh context: empty storage).
  const other = await ShopPage.visit(env, '/account.html');
  await other.w().getByRole('button', { name: /Stove will not light/ }).click();
  await other.message('My camping stove will not light').waitFor();
  await other.message(reply).waitFor();
  await other.w().getByText('This ticket is closed.').waitFor();
  // The escalation too, not only the messages: the hand-off card, and who joined.
  const card = other.w().getByRole('region', { name: 'Handed over to a person' });
  await card.waitFor();
  await card.getByText('Ann has joined').waitFor();
  assert.match(await other.message(reply).locator('[data-testid=author]').textContent(), /^Ann/);
  await other.close();
  await shop.close();
});

test('a visitor gets the agent reply live too, and never sees another visitor\'s tickets', async () => {
  const shop = await ShopPage.visit(env, '/');
  await shop.newTicket('Wrong size boots');
  await shop.send('The boots are a size too small.');
  await shop.w().getByRole('button', { name: 'Talk to a person' }).click();
  await shop.w().getByRole('region', { name: 'Handed over to a person' }).waitFor();
  const ticketId = (await shop.stored('everdesk:v1:tickets'))[0].id;
  const agent = await signInAgent(env.stack.widgetOrigin, 'bo', 'Bo');
  const item = (await agent('GET', '/v1/agent/queue')).tickets.find((t) => t.ticket.id === ticketId);
  await agent('POST', `/v1/agent/tickets/${item.ticket.session_id}/claim`);
  await agent('POST', `/v1/agent/tickets/${item.ticket.session_id}/messages`, { id: randomUUID(), content: 'Bo here: swap on its way.' });
  await shop.message('Bo here: swap on its way.').waitFor({ timeout: 10_000 });

  const stranger = await ShopPage.visit(env, '/');
  await stranger.w().getByText('No conversations yet.').waitFor();
  assert.equal(await stranger.w().getByRole('button', { name: /Wrong size boots/ }).count(), 0);
  await stranger.close();
  await shop.close();
});
