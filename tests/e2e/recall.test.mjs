// Recall by meaning in the widget: the product as `scripts/run` starts it (the embedded
// EverOS with the sentence-embedding model from the cache `scripts/setup` fills). A
// customer closes two tickets, then writes about the first one in other words; the reply
// points at it ("I see you had a similar issue before: …") and it is listed first under
// "From your past tickets". Searched by keyword, that follow-up shares no word with
// either ticket and recalls neither (crates/proxy/tests/integration/recall.rs), so this
// fails without the model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { screenshot, useStack } from './harness.mjs';
import { ShopPage } from './shop-page.mjs';

const env = useStack();

/** Opens a ticket, sends one message, closes it with a rating, back to the list. */
async function closedTicket(shop, subject, text) {
  await shop.newTicket(subject);
  await shop.send(text);
  await shop.w().getByRole('button', { name: 'Close ticket' }).click();
  await shop.w().getByRole('radio', { name: '4 out of 5' }).check();
  await shop.w().getByRole('button', { name: 'Close ticket' }).click();
  await shop.w().getByText('This ticket is closed.').waitFor();
  await shop.backToList();
}

test('a follow-up worded differently from an earlier ticket is recognised by meaning', async () => {
  const ready = await (await fetch(`${env.stack.widgetOrigin}/readyz`)).json();
  assert.equal(ready.everos?.embeddings, true, `the model is not loaded (run scripts/setup): ${JSON.stringify(ready)}`);

  const shop = await ShopPage.visit(env, '/');
  try {
    await closedTicket(shop, 'Password reset', 'My password reset email does not arrive.');
    await closedTicket(shop, 'Contract copy', 'Can I get a paper copy of my contract?');

    await shop.newTicket('Still locked out');
    await shop.send('The recovery link never reached my inbox.');
    const reply = await shop.w().locator('li.ed-msg:not(.ed-msg--mine)').last().textContent();
    assert.match(reply, /I see you had a similar issue before: .*password reset/i);
    assert.doesNotMatch(reply, /contract/i);

    const recalled = shop.w().locator('details.ed-recalled');
    await recalled.getByText('From your past tickets').click();
    const items = recalled.locator('.ed-history__item');
    await items.first().waitFor();
    assert.match(await items.first().textContent(), /Password reset/);
    await screenshot(shop.page, 'recalled-by-meaning');
  } finally {
    await shop.close();
  }
});
