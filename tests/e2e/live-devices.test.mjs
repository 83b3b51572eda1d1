// Live events across a customer's devices and tabs, seen in the widget: a verified
// customer's second device gets a ticket opened and a message sent on the first live
// (once, with the right author, kept in its own storage); replies that arrive while
// the panel is closed are counted on the launcher's badge; two tabs of one browser
// announce an agent's reply once between them; and a visitor's stream never carries
// another visitor's messages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { signInAgent } from './agent-api.mjs';
import { useStack } from './harness.mjs';
import { ShopPage } from './shop-page.mjs';

const env = useStack();

/** Bubbles in `shop`'s open conversation whose text contains `text`. */
const count = (shop, text) => shop.message(text).count();

/** The stored record of ticket `id` (its messages), from `shop`'s own storage. */
const record = (shop, id) => shop.stored(`everdesk:v1:ticket:${id}`);

/** Starts counting what the polite live region of `shop`'s frame says. */
async function listen(shop) {
  await shop.frame().evaluate(() => {
    window.__said = [];
    const region = document.querySelector('[data-testid=announcer]');
    new MutationObserver(() => window.__said.push(region.textContent)).observe(region, {
      childList: true, subtree: true, characterData: true,
    });
  });
}

/** What `shop`'s live region said since `listen`, blank resets left out. */
const said = (shop) => shop.frame().evaluate(() => window.__said.filter((t) => t.trim() !== ''));

/** The escalated ticket of `shop` (the newest stored), claimed by a new agent. */
async function claimNewest(shop, sub, name) {
  const ticketId = (await shop.stored('everdesk:v1:tickets'))[0].id;
  const agent = await signInAgent(env.stack.widgetOrigin, sub, name);
  const item = (await agent('GET', '/v1/agent/queue')).tickets.find((t) => t.ticket.id === ticketId);
  assert.ok(item, `ticket ${ticketId} is in the queue`);
  const sid = item.ticket.session_id;
  await agent('POST', `/v1/agent/tickets/${sid}/claim`);
  const reply = (content) => agent('POST', `/v1/agent/tickets/${sid}/messages`, { id: randomUUID(), content });
  return { ticketId, reply };
}

test('a verified customer\'s second device gets the first one\'s new ticket and messages live', async () => {
  const a = await ShopPage.visit(env, '/account.html');
  const b = await ShopPage.visit(env, '/account.html');
  // B sits on its ticket list; the ticket opened on A appears there without a reload.
  await b.w().getByText('No conversations yet.').waitFor();
  await a.newTicket('Tent pole snapped');
  const ticketId = (await a.stored('everdesk:v1:tickets'))[0].id;
  const listed = b.w().getByRole('button', { name: /Tent pole snapped/ });
  await listed.waitFor({ timeout: 10_000 });
  await listed.click();
  await b.w().getByRole('heading', { level: 2, name: 'Tent pole snapped' }).waitFor();
  const greeting = await a.w().locator('li.ed-msg:not(.ed-msg--mine)').first().textContent();
  await b.w().locator('li.ed-msg:not(.ed-msg--mine)').first().waitFor();

  // The customer writes on A; B shows it live, once, as the customer's own, then the
  // bot's answer too, also once.
  const question = 'One pole of my Trail Tent 2 snapped on the first night.';
  await a.send(question);
  const answer = (await a.w().locator('li.ed-msg:not(.ed-msg--mine)').last().locator('.ed-msg__bubble').textContent()).trim();
  assert.ok(answer.length > 0);
  const mine = b.message(question);
  await mine.waitFor({ timeout: 10_000 });
  assert.match(await mine.getAttribute('class'), /ed-msg--mine/);
  assert.equal((await mine.locator('[data-testid=author]').textContent()).replace(/:\s*$/, '').trim(), 'You');
  await b.message(answer).waitFor({ timeout: 10_000 });
  await b.page.waitForTimeout(500); // a late duplicate would show by now
  assert.equal(await count(b, question), 1, 'the customer\'s message shows once on B');
  assert.equal(await count(b, answer), 1, 'the bot\'s answer shows once on B');
  const reply = b.message(answer);
  assert.doesNotMatch(await reply.getAttribute('class'), /ed-msg--mine/);
  assert.equal((await reply.locator('[data-testid=author]').textContent()).replace(/:\s*$/, '').trim(), 'Support');
  assert.equal(await b.w().locator('li.ed-msg').count(), await a.w().locator('li.ed-msg').count(),
    'B shows the same conversation as A');

  // B's own storage now holds the ticket and both messages, in order, each once.
  const list = await b.stored('everdesk:v1:tickets');
  assert.deepEqual(list.map((t) => t.subject), ['Tent pole snapped']);
  assert.equal(list[0].id, ticketId);
  const kept = await record(b, ticketId);
  const contents = kept.messages.map((m) => m.content);
  assert.equal(contents.filter((c) => c === question).length, 1, JSON.stringify(contents));
  assert.equal(contents.filter((c) => c === answer).length, 1, JSON.stringify(contents));
  assert.ok(contents.indexOf(question) < contents.indexOf(answer));
  assert.equal(kept.messages.find((m) => m.content === question).role, 'user');
  assert.equal(contents[0].trim(), greeting.replace(/^Support:\s*/, '').trim());
  // Read while open: no unread marker for what B is showing.
  assert.equal(list[0].unread, 0);
  await b.close();
  await a.close();
});

test('replies that arrive while the panel is closed are counted on the launcher badge', async () => {
  const shop = await ShopPage.visit(env, '/');
  await shop.newTicket('Lost parcel');
  await shop.send('My parcel for order 6001 never arrived.');
  await shop.w().getByRole('button', { name: 'Talk to a person' }).click();
  await shop.w().getByRole('region', { name: 'Handed over to a person' }).waitFor();
  await shop.w().getByRole('button', { name: 'Close support chat' }).click();
  await shop.frameElement().waitFor({ state: 'hidden' });
  const launcher = shop.launcher();
  const badge = launcher.locator('.b');
  assert.equal(await badge.isVisible(), false, 'no badge before any reply');
  assert.equal(await launcher.getAttribute('aria-label'), 'Open support chat');

  const { reply } = await claimNewest(shop, 'cy', 'Cy');
  await reply('Cy here, checking with the carrier.');
  await badge.filter({ hasText: /^1$/ }).waitFor({ timeout: 10_000 });
  await reply('Found it: it is at the depot, redelivery tomorrow.');
  await badge.filter({ hasText: /^2$/ }).waitFor({ timeout: 10_000 });
  assert.equal(await badge.isVisible(), true);
  // The accessible name carries the count: a screen reader hears it on the button.
  assert.equal(await launcher.getAttribute('aria-label'), 'Open support chat (2)');
  const name = await launcher.evaluate((el) => el.getAttribute('aria-label'));
  assert.match(name, /\b2\b/);

  // Opening the panel shows the conversation, and the badge goes.
  await shop.launcher().click();
  await shop.message('redelivery tomorrow').waitFor();
  await badge.waitFor({ state: 'hidden' });
  assert.equal(await launcher.getAttribute('aria-label'), 'Close support chat');
  assert.equal((await shop.stored('everdesk:v1:tickets'))[0].unread, 0);
  await shop.close();
});

test('an agent reply is announced once across two tabs of one browser, and both show it', async () => {
  const context = await env.browser.newContext();
  const a = new ShopPage(await context.newPage(), env.stack);
  await a.goto('/');
  await a.open();
  await a.newTicket('Stuck zip');
  await a.send('The zip of my sleeping bag is stuck.');
  await a.w().getByRole('button', { name: 'Talk to a person' }).click();
  await a.w().getByRole('region', { name: 'Handed over to a person' }).waitFor();
  const { reply } = await claimNewest(a, 'di', 'Di');
  await a.w().getByText('Di has joined').waitFor();

  const b = new ShopPage(await context.newPage(), env.stack);
  await b.goto('/');
  await b.open();
  await b.w().getByRole('button', { name: /Stuck zip/ }).click();
  await b.w().getByText('Di has joined').waitFor();
  // The customer is looking at tab A.
  await a.page.bringToFront();
  await listen(a);
  await listen(b);

  const text = 'Di here: a little wax on the teeth frees it.';
  await reply(text);
  await a.message(text).waitFor({ timeout: 10_000 });
  await b.page.bringToFront();
  await b.message(text).waitFor({ timeout: 10_000 });
  await a.page.waitForTimeout(500); // a second announcement would be made by now
  const all = [...await said(a), ...await said(b)];
  assert.equal(all.filter((t) => t.includes(text)).length, 1, `announced once in total: ${JSON.stringify(all)}`);
  for (const shop of [a, b]) {
    assert.equal(await count(shop, text), 1);
    assert.match(await shop.message(text).locator('[data-testid=author]').textContent(), /^Di/);
  }
  await context.close();
});

test('announced once across tabs even when the tab in front is busy as the reply arrives', async () => {
  // The tab behind reads the reply from its stream first, keeps it and hands the
  // announcement to the tab in front (over the tabs' channel), which then reads the
  // same reply from its own stream as well: still one announcement.
  const context = await env.browser.newContext();
  const a = new ShopPage(await context.newPage(), env.stack);
  await a.goto('/account.html');
  await a.open();
  await a.newTicket('Cracked bottle');
  await a.send('My water bottle arrived cracked.');
  await a.w().getByRole('button', { name: 'Talk to a person' }).click();
  await a.w().getByRole('region', { name: 'Handed over to a person' }).waitFor();
  const { reply } = await claimNewest(a, 'flo', 'Flo');
  const b = new ShopPage(await context.newPage(), env.stack);
  await b.goto('/account.html');
  await b.open();
  await b.w().getByRole('button', { name: /Cracked bottle/ }).click();
  await b.w().getByText('Flo has joined').waitFor();
  await a.page.bringToFront();
  await listen(a);
  await listen(b);

  const text = 'Flo here: a new bottle ships today.';
  // Tab A's frame is busy for a moment (a long task) while the reply is delivered.
  const busy = a.frame().evaluate(() => { const end = Date.now() + 1_500; while (Date.now() < end); });
  await reply(text);
  await busy;
  await a.message(text).waitFor({ timeout: 10_000 });
  await a.page.waitForTimeout(500);
  await b.page.bringToFront();
  await b.message(text).waitFor({ timeout: 10_000 });
  const all = [...await said(a), ...await said(b)];
  assert.equal(all.filter((t) => t.includes(text)).length, 1, `announced once in total: ${JSON.stringify(all)}`);
  await context.close();
});

test('a visitor\'s live stream never carries another visitor\'s messages', async () => {
  const first = await ShopPage.visit(env, '/');
  await first.newTicket('Broken lantern');
  await first.send('The lantern flickers and dies.');
  await first.w().getByRole('button', { name: 'Talk to a person' }).click();
  await first.w().getByRole('region', { name: 'Handed over to a person' }).waitFor();
  // Another visitor, in another browser, with a ticket of their own open (so their
  // event stream runs while the first visitor is answered).
  const other = await ShopPage.visit(env, '/');
  await other.newTicket('Gift card');
  await other.send('Can I pay with a gift card?');

  const { reply } = await claimNewest(first, 'ed', 'Ed');
  const text = 'Ed here: a new lantern is on its way.';
  await reply(text);
  await first.message(text).waitFor({ timeout: 10_000 });
  await other.page.waitForTimeout(1_000);
  const w = other.w();
  assert.equal(await count(other, text), 0);
  assert.equal(await w.getByText('Ed has joined').count(), 0);
  await other.backToList();
  assert.equal(await w.getByRole('button', { name: /Broken lantern/ }).count(), 0);
  assert.deepEqual((await other.stored('everdesk:v1:tickets')).map((t) => t.subject), ['Gift card']);
  // Whichever storage the widget keeps (its own, or the host page's where the
  // browser blocks the frame's), it holds one ticket record: the other visitor's own.
  const records = () => {
    try { return Object.keys(localStorage).filter((k) => k.startsWith('everdesk:v1:ticket:')); } catch { return []; }
  };
  const keys = [...await other.frame().evaluate(records), ...await other.page.evaluate(records)];
  assert.equal(keys.length, 1, JSON.stringify(keys));
  assert.doesNotMatch(JSON.stringify(await other.stored(keys[0])), /lantern/i);
  await other.close();
  await first.close();
});
