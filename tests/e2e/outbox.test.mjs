// Never lose a message, never store one twice: a message typed offline is kept
// (visibly, and in the outbox in storage) and sent exactly once on reconnect; a
// reload while a send is in flight resends the same id, which the proxy dedupes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useStack } from './harness.mjs';
import { ShopPage } from './shop-page.mjs';

const env = useStack({ everos: true });

async function userAdds(content) {
  return (await env.stack.everos.addedMessages()).filter((m) => m.role === 'user' && m.content === content);
}

test('a message typed offline is kept and sent exactly once on reconnect', async () => {
  const shop = await ShopPage.visit(env, '/');
  await shop.newTicket('Offline question');

  await shop.context.setOffline(true);
  const text = 'Typed while the train was in a tunnel';
  await shop.type(text);
  await shop.w().getByText("You're offline.").waitFor();
  const bubble = shop.message(text);
  await bubble.waitFor();
  assert.notEqual(await bubble.getAttribute('data-delivery'), 'sent');
  const outbox = await shop.stored('everdesk:v1:outbox');
  assert.equal(outbox.entries.length, 1);
  assert.equal(outbox.entries[0].content, text);
  assert.equal((await userAdds(text)).length, 0);

  await shop.context.setOffline(false);
  await shop.message(text).and(shop.w().locator('[data-delivery=sent]')).waitFor();
  assert.equal((await shop.stored('everdesk:v1:outbox')).entries.length, 0);
  assert.equal((await userAdds(text)).length, 1);
  await shop.close();
});

test('reloading mid-send resends the same message id and EverOS stores it once', async () => {
  const shop = await ShopPage.visit(env, '/');
  const page = shop.page;
  await shop.newTicket('Reload while sending');

  // EverOS stores the add but answers slowly: the page is reloaded before the reply.
  await env.stack.everos.fault({ route: 'add', delay_ms: 2500, times: 1 });
  const text = 'Sent right before a reload';
  await shop.type(text);
  await shop.message(text).waitFor();
  await page.waitForTimeout(300);
  await page.reload();
  await shop.open();
  await shop.w().getByRole('button', { name: /Reload while sending/ }).click();
  await shop.message(text).and(shop.w().locator('[data-delivery=sent]')).waitFor({ timeout: 20_000 });
  assert.equal((await userAdds(text)).length, 1, 'stored exactly once');
  assert.equal(await shop.w().locator('li.ed-msg--mine').count(), 1);
  await shop.close();
});
