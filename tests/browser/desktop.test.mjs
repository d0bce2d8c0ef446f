// The agent desktop and the supervisor wallboard in a real browser, against a real server:
// login, presence, an offer accepted with the keyboard, wrap-up with a disposition, the
// wallboard's handled count and service level moving; an offer not accepted in time going to
// another agent; an agent working for another tenant seeing none of it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Server, launchBrowser, signIn, shot, sleep } from './harness.mjs';

const T = '/api/v1/tenants/acme';

describe('desktop and wallboard', { timeout: 180000 }, () => {
  let server, browser, sam, queues;

  before(async () => {
    server = await new Server().start();
    browser = await launchBrowser();
    sam = await server.login('sam');
    queues = Object.fromEntries((await server.ok('GET', T + '/queues', undefined, sam)).map((q) => [q.name, q]));
  });
  after(async () => {
    await browser?.close();
    await server?.cleanup();
  });

  test('offer accepted on the desktop, wrapped up, counted on the wallboard', async () => {
    const ada = await server.login('ada');
    // A 5 s service-level threshold, so that a contact answered late moves the service level.
    await server.ok('PATCH', `${T}/queues/${queues.support.id}`, { sl_threshold_s: 5 }, ada);

    const wall = await signIn(browser, server, 'sam');
    assert.match(wall.url(), /wallboard/);
    const tile = wall.locator('.tile[data-queue="support"]');
    await tile.waitFor();
    assert.equal(await tile.locator('.figure').nth(5).getAttribute('data-value'), '0');

    const desk = await signIn(browser, server, 'alice');
    assert.match(desk.url(), /desktop/);
    await desk.getByRole('button', { name: 'Available', exact: true }).click();
    await desk.locator('#activity', { hasText: 'Available' }).waitFor();
    // The wallboard hears of it by push.
    await wall.locator('tr[data-agent="alice"] .pill', { hasText: 'Available' }).waitFor();

    // 1st contact: answered at once, in the service level.
    const ix1 = await server.ok('POST', T + '/interactions', { channel: 'email', queue: queues.support.id, subject: 'Where is my order?', customer: { name: 'Dana Client', email: 'dana@example.com' } }, sam);
    const offer = desk.locator(`[data-offer="${ix1.id}"]`);
    await offer.waitFor();
    assert.match(await offer.textContent(), /Dana Client/);
    await desk.locator('#announce', { hasText: 'offer from Dana Client' }).waitFor();  // aria-live
    await shot(desk, 'desktop-offer');
    await desk.keyboard.press('a');  // the accept shortcut
    const card = desk.locator(`article.card[data-interaction="${ix1.id}"]`);
    await card.locator('.pill', { hasText: 'connected' }).waitFor();
    await offer.waitFor({ state: 'detached' });
    await card.getByRole('button', { name: 'End' }).click();
    await card.locator('.pill', { hasText: 'wrap-up' }).waitFor();
    await desk.keyboard.press('Escape');
    await desk.locator('body').click({ position: { x: 5, y: 5 } });
    await desk.keyboard.press('w');  // the wrap-up shortcut focuses the disposition
    assert.equal(await desk.evaluate(() => document.activeElement.id), `disp-${ix1.id}`);
    await card.getByLabel('Disposition').selectOption('resolved');
    await card.getByLabel('Notes').fill('Parcel found, arrives tomorrow');
    await shot(desk, 'desktop-wrapup');
    await card.getByLabel('Notes').press('Control+Enter');
    await card.waitFor({ state: 'detached' });
    await desk.locator('[data-stat="handled"]', { hasText: '1' }).waitFor();

    const done = await server.ok('GET', `${T}/interactions/${ix1.id}`, undefined, sam);
    assert.equal(done.state, 'completed');
    assert.equal(done.notes, 'Parcel found, arrives tomorrow');
    await wall.locator('.tile[data-queue="support"] .figure[data-value="1"]').first().waitFor();
    assert.equal(await tile.locator('.figure').nth(2).getAttribute('data-value'), '1');

    // 2nd contact, same customer: answered after the 5 s threshold, so the service level drops
    // to 50 %; the desktop shows the customer's earlier contact.
    const ix2 = await server.ok('POST', T + '/interactions', { channel: 'email', queue: queues.support.id, subject: 'Still waiting', customer: { name: 'Dana Client', email: 'dana@example.com' } }, sam);
    await desk.locator(`[data-offer="${ix2.id}"]`).waitFor();
    await sleep(5500);
    await desk.locator(`[data-offer="${ix2.id}"]`).getByRole('button', { name: /Accept/ }).click();
    const card2 = desk.locator(`article.card[data-interaction="${ix2.id}"]`);
    await card2.locator('.history li', { hasText: 'Where is my order?' }).waitFor();
    assert.match(await card2.locator('.history').textContent(), /Parcel found/);
    await shot(desk, 'desktop-history');
    await card2.getByRole('button', { name: 'End' }).click();
    await card2.getByLabel('Disposition').selectOption('follow_up');
    await card2.getByRole('button', { name: 'Complete' }).click();
    await card2.waitFor({ state: 'detached' });

    await wall.waitForFunction(() => {
      const t = document.querySelector('.tile[data-queue="support"]');
      const f = t && t.querySelectorAll('.figure');
      return f && f[5].dataset.value === '2' && f[2].dataset.value === '0.5';
    });
    assert.match(await tile.textContent(), /50 %/);
    await wall.locator('#chart-volume[data-total="2"]').waitFor();
    await desk.locator('[data-stat="handled"]', { hasText: '2' }).waitFor();
    await shot(wall, 'wallboard');
    await shot(desk, 'desktop-myday');
    assert.deepEqual(desk.errors || [], []);
    assert.deepEqual(wall.errors || [], []);
    await desk.context().close();
    await wall.context().close();
  });

  test('an offer not accepted in time goes to another agent', async () => {
    const ada = await server.login('ada');
    await server.ok('PATCH', `${T}/queues/${queues.sales.id}`, { offer_timeout_s: 3 }, ada);
    const bobDesk = await signIn(browser, server, 'bob');
    const aliceDesk = await signIn(browser, server, 'alice');
    for (const d of [bobDesk, aliceDesk]) {
      await d.getByRole('button', { name: 'Available', exact: true }).click();
      await d.locator('#activity', { hasText: 'Available' }).waitFor();
    }
    const ix = await server.ok('POST', T + '/interactions', { channel: 'email', queue: queues.sales.id, subject: 'Quote please', customer: { name: 'Eve' } }, sam);
    // Bob is the better salesman (8 against 4): his first. He lets it ring out.
    await bobDesk.locator(`[data-offer="${ix.id}"]`).waitFor();
    assert.equal(await aliceDesk.locator(`[data-offer="${ix.id}"]`).count(), 0);
    await bobDesk.locator(`[data-offer="${ix.id}"]`).waitFor({ state: 'detached', timeout: 10000 });
    await aliceDesk.locator(`[data-offer="${ix.id}"]`).waitFor({ timeout: 10000 });
    await aliceDesk.locator(`[data-offer="${ix.id}"]`).getByRole('button', { name: /Accept/ }).click();
    await aliceDesk.locator(`article.card[data-interaction="${ix.id}"]`).waitFor();
    const got = await server.ok('GET', `${T}/interactions/${ix.id}`, undefined, sam);
    assert.equal(got.agent, (await server.ok('GET', '/api/v1/me', undefined, await server.login('alice'))).user.id);
    await aliceDesk.locator(`article.card[data-interaction="${ix.id}"]`).getByRole('button', { name: 'End' }).click();
    await aliceDesk.getByLabel('Disposition').selectOption('no_sale');
    await aliceDesk.getByRole('button', { name: 'Complete' }).click();
    await aliceDesk.locator(`article.card[data-interaction="${ix.id}"]`).waitFor({ state: 'detached' });
    for (const d of [bobDesk, aliceDesk]) {
      await d.getByRole('button', { name: 'Offline' }).click();
    await d.locator('#activity', { hasText: 'Offline' }).waitFor();
      await d.context().close();
    }
  });

  test('the supervisor sets an agent on break and force-completes a wrap-up', async () => {
    const wall = await signIn(browser, server, 'sam');
    const desk = await signIn(browser, server, 'alice');
    await desk.getByRole('button', { name: 'Available', exact: true }).click();
    await desk.locator('#activity', { hasText: 'Available' }).waitFor();
    const ix = await server.ok('POST', T + '/interactions', { channel: 'email', queue: queues.support.id, subject: 'Forced', customer: { name: 'Frank' } }, sam);
    await desk.locator(`[data-offer="${ix.id}"]`).getByRole('button', { name: /Accept/ }).click();
    const card = desk.locator(`article.card[data-interaction="${ix.id}"]`);
    await card.getByRole('button', { name: 'End' }).click();
    await card.locator('.pill', { hasText: 'wrap-up' }).waitFor();
    // More time for the notes: the wrap-up deadline moves 30 s on.
    const before = (await server.ok('GET', `${T}/interactions/${ix.id}`, undefined, sam)).wrapup_until;
    await card.getByRole('button', { name: '+30 s' }).click();
    for (let i = 0; i < 50; i++) {
      if ((await server.ok('GET', `${T}/interactions/${ix.id}`, undefined, sam)).wrapup_until === before + 30000) break;
      await sleep(100);
    }
    assert.equal((await server.ok('GET', `${T}/interactions/${ix.id}`, undefined, sam)).wrapup_until, before + 30000);
    // The wallboard sees her in wrap-up and completes it for her.
    const row = wall.locator('tr[data-agent="alice"]');
    await row.locator('.pill', { hasText: 'Wrap-up' }).waitFor();
    await row.getByRole('button', { name: 'Complete wrap-up' }).click();
    await card.waitFor({ state: 'detached' });
    assert.equal((await server.ok('GET', `${T}/interactions/${ix.id}`, undefined, sam)).state, 'completed');
    // And sends her to lunch; her desktop follows.
    await row.getByRole('combobox').selectOption('break:lunch');
    await desk.locator('#activity', { hasText: 'On break' }).waitFor();
    await desk.locator('#activity-reason', { hasText: 'lunch' }).waitFor();
    await row.locator('.pill', { hasText: 'Break' }).waitFor();
    await shot(wall, 'wallboard-actions');
    await desk.getByRole('button', { name: 'Offline' }).click();
    await desk.locator('#activity', { hasText: 'Offline' }).waitFor();
    await desk.context().close();
    await wall.context().close();
  });

  test('an agent working for another tenant sees nothing of it', async () => {
    // Carol serves acme and globex; she switches the desktop to globex.
    const carol = await signIn(browser, server, 'carol', { tenant: 'globex' });
    assert.match(await carol.locator('#tenant-switch').inputValue(), /globex/);
    await carol.getByRole('button', { name: 'Available', exact: true }).click();
    await carol.locator('#activity', { hasText: 'Available' }).waitFor();
    const ix = await server.ok('POST', T + '/interactions', { channel: 'email', queue: queues.billing.id, subject: 'Invoice 42', customer: { name: 'Acme customer' } }, sam);
    await sleep(1500);
    assert.equal(await carol.locator('[data-offer]').count(), 0);
    assert.equal(await carol.locator('article.card').count(), 0);
    assert.doesNotMatch(await carol.content(), /Invoice 42|Acme customer/);
    // The contact waits in acme, unseen by globex.
    const still = await server.ok('GET', `${T}/interactions/${ix.id}`, undefined, sam);
    assert.equal(still.state, 'queued');
    await shot(carol, 'desktop-other-tenant');
    await carol.context().close();
  });

  test('admin pages', async () => {
    const ada = await server.login('ada');
    const admin = await signIn(browser, server, 'ada');
    assert.match(admin.url(), /admin/);
    for (const [tab, expect] of [['Company', 'Acme Retail'], ['Users and roles', 'Alice Agent'], ['Skills', 'spanish'],
      ['Queues', 'best proficiency'], ['Business hours', 'New schedule'], ['Dispositions', 'follow_up']]) {
      await admin.getByRole('tab', { name: tab }).click();
      await admin.locator('#pane', { hasText: expect }).waitFor();
      await shot(admin, 'admin-' + tab.toLowerCase().replace(/\W+/g, '-'));
    }
    // Create a disposition through the form (the tab shown last); it is there for the API too.
    await admin.getByLabel('Code').fill('refund');
    await admin.getByLabel('Name').fill('Refund issued');
    await admin.getByRole('button', { name: 'Create disposition' }).click();
    await admin.locator('#pane td', { hasText: 'Refund issued' }).waitFor();
    const codes = (await server.ok('GET', T + '/dispositions', undefined, sam)).map((d) => d.code);
    assert.ok(codes.includes('refund'));
    // A queue's relaxation step edited through the form.
    await admin.getByRole('tab', { name: 'Queues' }).click();
    await admin.locator('tr', { hasText: 'billing' }).getByRole('button', { name: 'Edit' }).click();
    await admin.getByRole('button', { name: 'Add a relaxation step' }).click();
    await admin.getByRole('button', { name: 'Save' }).click();
    await admin.locator('#pane tr', { hasText: '30 s → ≥ 1' }).waitFor();
    const billing = await server.ok('GET', `${T}/queues/${queues.billing.id}`, undefined, sam);
    assert.deepEqual(billing.steps.map((s) => s.after_s), [30]);
    // The platform admin adds a company.
    await admin.getByRole('tab', { name: 'Company' }).click();
    await admin.getByLabel('Short name (slug)').fill('initech');
    await admin.getByLabel('Company name', { exact: true }).last().fill('Initech');
    await admin.getByRole('button', { name: 'Create company' }).click();
    await admin.locator('tr[data-tenant="initech"]').waitFor();
    const tenants = (await server.ok('GET', '/api/v1/tenants', undefined, ada)).map((t) => t.slug);
    assert.ok(tenants.includes('initech'));
    assert.deepEqual(admin.errors || [], []);
    await admin.context().close();
  });
});
