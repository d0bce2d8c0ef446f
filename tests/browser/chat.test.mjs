// The chat widget on a company's site (another origin: the site is served from its own port),
// an agent on the desktop: waiting with a position, accept, messages both ways with typing
// indicators, a dropped connection on either side losing and duplicating nothing, wrap-up; and
// the leave-a-message form when nobody is there.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Proxy, Server, launchBrowser, signIn, shot, sleep, startSite } from './harness.mjs';

const T = '/api/v1/tenants/acme';

describe('chat widget', { timeout: 200000 }, () => {
  let server, browser, proxy, site, sam, queues;

  before(async () => {
    server = await new Server().start();
    // Customer and agent both reach the server through this proxy, so the test can cut them off.
    proxy = await new Proxy(server.port).start();
    site = await startSite(proxy.base);
    browser = await launchBrowser();
    sam = await server.login('sam');
    const ada = await server.login('ada');
    queues = Object.fromEntries((await server.ok('GET', T + '/queues', undefined, sam)).map((q) => [q.name, q]));
    await server.ok('PATCH', T, { settings: { allowed_origins: [site.origin], chat_queue: queues.support.id } }, ada);
  });
  after(async () => {
    await browser?.close();
    await proxy?.close();
    await site?.close();
    await server?.cleanup();
  });

  async function texts(locator) {
    return (await locator.allTextContents()).map((t) => t.trim());
  }

  test('a customer chats with an agent; reconnects lose nothing', async () => {
    const desk = await signIn(browser, { base: proxy.base }, 'alice');
    await desk.getByRole('button', { name: 'Available', exact: true }).click();
    await desk.locator('#activity', { hasText: 'Available' }).waitFor();

    const customer = await (await browser.newContext({ viewport: { width: 1200, height: 760 } })).newPage();
    customer.context().setDefaultTimeout(15000);
    const errors = [];
    customer.on('pageerror', (e) => errors.push(String(e)));
    await customer.goto(site.origin + '/');
    assert.notEqual(new URL(customer.url()).origin, new URL(proxy.base).origin);  // truly cross-origin
    await customer.getByRole('button', { name: 'Chat with us' }).click();
    await customer.getByLabel('Your name').fill('Grace Visitor');
    await customer.getByLabel('Email (optional)').fill('grace@example.com');
    await customer.getByLabel('Your message').fill('Hi, my parcel is late.');
    await shot(customer, 'widget-form');
    await customer.getByRole('button', { name: 'Start chat' }).click();
    await customer.getByRole('status').filter({ hasText: /in line|chatting/ }).waitFor();

    // The desktop is offered the chat; the agent accepts and sees the first message.
    const offer = desk.locator('[data-offer]');
    await offer.waitFor();
    const id = Number(await offer.getAttribute('data-offer'));
    assert.match(await offer.textContent(), /Grace Visitor/);
    await shot(customer, 'widget-waiting');
    await desk.keyboard.press('a');
    const card = desk.locator(`article.card[data-interaction="${id}"]`);
    const deskMsgs = card.locator('.transcript .msg:not(.pending)');
    await card.locator('.transcript .msg', { hasText: 'my parcel is late' }).waitFor();
    await customer.getByRole('status').filter({ hasText: 'chatting with Alice' }).waitFor();

    // Agent → customer, with the typing indicator first.
    await card.getByRole('textbox').pressSequentially('Sorry to hear');
    await customer.getByText('The agent is typing…').waitFor();
    await card.getByRole('textbox').fill('Sorry to hear that! What is the order number?');
    await card.getByRole('textbox').press('Enter');
    const custMsgs = customer.locator('#homeline-chat .msg:not(.pending)');
    await customer.locator('#homeline-chat .msg.agent', { hasText: 'order number' }).waitFor();

    // Customer → agent, with the typing indicator.
    const write = customer.getByLabel('Write a message');
    await write.pressSequentially('It is 4');
    await card.getByText('Customer is typing…').waitFor();
    await write.fill('It is 4711.');
    await write.press('Enter');
    await card.locator('.transcript .msg', { hasText: '4711' }).waitFor();

    // The customer's connection drops: what both sides write meanwhile arrives once, in order.
    proxy.cut();
    await customer.getByRole('status').filter({ hasText: 'Reconnecting' }).waitFor();
    await desk.locator('#banner', { hasText: 'cannot be reached' }).waitFor();
    await shot(desk, 'desktop-offline-banner');
    await write.fill('Are you still there?');
    await write.press('Enter');
    await sleep(300);
    proxy.up();
    await desk.locator('#banner').waitFor({ state: 'hidden' });
    await card.locator('.transcript .msg', { hasText: 'still there' }).waitFor();
    await card.getByRole('textbox').fill('Yes! It ships today.');
    await card.getByRole('textbox').press('Enter');
    await customer.locator('#homeline-chat .msg.agent', { hasText: 'ships today' }).waitFor();
    // And once more, cut while the agent writes.
    proxy.cut();
    await sleep(200);
    await server.ok('POST', `${T}/interactions/${id}/messages`, { text: 'Tracking: AB123.', client_id: 'test-1' }, await server.login('alice'));
    proxy.up();
    await customer.locator('#homeline-chat .msg.agent', { hasText: 'AB123' }).waitFor();
    await card.locator('.transcript .msg', { hasText: 'AB123' }).waitFor();

    // A reload of the customer's page resumes the same conversation.
    await customer.reload();
    await customer.locator('#homeline-chat .msg.agent', { hasText: 'AB123' }).waitFor();
    await customer.getByRole('status').filter({ hasText: 'chatting with Alice' }).waitFor();
    // A message written while cut off, then the page reloaded: it is sent once, after the reload
    // or by the old page's reconnect, whichever comes first.
    proxy.cut();
    await write.fill('One more thing.');
    await write.press('Enter');
    await customer.locator('#homeline-chat .msg.pending').waitFor();
    proxy.up();
    await customer.reload();
    await card.locator('.transcript .msg', { hasText: 'One more thing.' }).waitFor();
    await customer.locator('#homeline-chat .msg.visitor', { hasText: 'One more thing.' }).waitFor();

    const expected = ['Hi, my parcel is late.', 'Sorry to hear that! What is the order number?', 'It is 4711.',
      'Are you still there?', 'Yes! It ships today.', 'Tracking: AB123.', 'One more thing.'];
    await sleep(500);  // a duplicate would have arrived by now
    assert.deepEqual(await texts(custMsgs), expected);
    assert.deepEqual(await texts(deskMsgs), expected);
    const stored = await server.ok('GET', `${T}/interactions/${id}/messages`, undefined, sam);
    assert.deepEqual(stored.messages.map((m) => m.text), expected);
    assert.deepEqual(stored.messages.map((m) => m.seq), [1, 2, 3, 4, 5, 6, 7]);
    await shot(customer, 'widget-chat');

    // A second customer: two chats side by side, within alice's capacity of 3.
    const second = await (await browser.newContext()).newPage();
    second.context().setDefaultTimeout(15000);
    await second.goto(site.origin + '/');
    await second.getByRole('button', { name: 'Chat with us' }).click();
    await second.getByLabel('Your name').fill('Ivan Second');
    await second.getByLabel('Your message').fill('Do you ship to Norway?');
    await second.getByRole('button', { name: 'Start chat' }).click();
    const offer2 = desk.locator('[data-offer]');
    await offer2.waitFor();
    const id2 = Number(await offer2.getAttribute('data-offer'));
    await offer2.getByRole('button', { name: /Accept/ }).click();
    const card2 = desk.locator(`article.card[data-interaction="${id2}"]`);
    await card2.locator('.transcript .msg', { hasText: 'Norway' }).waitFor();
    await desk.locator('#capacity', { hasText: 'Chats 2 of 3' }).waitFor();
    await shot(desk, 'desktop-chat');
    // The second customer leaves; the agent wraps that one up.
    await second.getByRole('button', { name: 'End chat' }).click();
    await second.getByRole('status').filter({ hasText: /ended/ }).waitFor();
    await card2.locator('.pill', { hasText: 'wrap-up' }).waitFor();
    await card2.getByLabel('Disposition').selectOption('resolved');
    await card2.getByRole('button', { name: 'Complete' }).click();
    await card2.waitFor({ state: 'detached' });
    await second.context().close();

    // The agent ends the chat and wraps up; the customer is told.
    await card.getByRole('button', { name: 'End chat' }).click();
    await card.getByLabel('Disposition').selectOption('resolved');
    await card.getByRole('button', { name: 'Complete' }).click();
    await card.waitFor({ state: 'detached' });
    await customer.getByRole('status').filter({ hasText: 'ended' }).waitFor();
    await shot(customer, 'widget-ended');
    const done = await server.ok('GET', `${T}/interactions/${id}`, undefined, sam);
    assert.equal(done.state, 'completed');
    assert.deepEqual(errors, []);
    assert.deepEqual(desk.errors || [], []);
    await desk.getByRole('button', { name: 'Offline' }).click();
    await desk.locator('#activity', { hasText: 'Offline' }).waitFor();
    await desk.context().close();
    await customer.context().close();
  });

  test('with nobody logged in the widget takes a message', async () => {
    for (const a of await server.ok('GET', T + '/agents', undefined, sam))
      if (a.presence !== 'offline') await server.ok('PUT', `${T}/agents/${a.user}/presence`, { state: 'offline' }, sam);
    const customer = await (await browser.newContext()).newPage();
    customer.context().setDefaultTimeout(15000);
    await customer.goto(site.origin + '/');
    await customer.getByRole('button', { name: 'Chat with us' }).click();
    await customer.getByRole('form', { name: 'Leave a message' }).waitFor();
    await customer.getByLabel('Your name').fill('Henry Late');
    await customer.getByLabel('Email', { exact: true }).fill('henry@example.com');
    await customer.getByLabel('Your message').fill('Please call me back about my refund.');
    await shot(customer, 'widget-leave-message');
    await customer.getByRole('button', { name: 'Send message' }).click();
    await customer.getByText('We have your message').waitFor();
    const all = await server.ok('GET', T + '/interactions', undefined, sam);
    const left = all.find((ix) => ix.customer.email === 'henry@example.com');
    assert.ok(left, 'the message became an interaction');
    assert.equal(left.channel, 'email');
    assert.equal(left.data.text, 'Please call me back about my refund.');
    await customer.context().close();
  });

  test('a site not on the allowed list cannot use the widget', async () => {
    const other = await startSite(proxy.base);
    try {
      const page = await (await browser.newContext()).newPage();
      await page.goto(other.origin + '/');
      await page.getByRole('button', { name: 'Chat with us' }).click();
      await page.getByText('The chat is not available').waitFor({ timeout: 15000 });
      await page.context().close();
    } finally {
      await other.close();
    }
  });
});
