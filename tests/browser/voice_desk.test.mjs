// Voice in the browser against a real server with SIP on: the agent desktop's phone indicator
// follows a real REGISTER; a customer's call through the trunk rings the agent's phone, and the
// desktop's Hold/Resume, recording pause, Hang up and transfer to a queue drive the call (checked at the media and
// SIP level by the peers of voice_peer.py, and against the API); the supervisor's Calls page
// lists the call's recording (played from the download route) and its call detail record, with
// the CSV export of the same filters.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Server, VoicePeer, launchBrowser, signIn, shot, sleep } from './harness.mjs';

const T = '/api/v1/tenants/acme';

describe('voice on the desktop and the Calls page', { timeout: 150000 }, () => {
  let server, browser, peer;

  before(async () => {
    server = await new Server({ sip: true }).start();
    browser = await launchBrowser();
    peer = new VoicePeer(server.sipPort);
  });
  after(async () => {
    await peer?.close();
    await browser?.close();
    await server?.cleanup();
  });

  test('phone indicator, hold/resume, recording pause and hang-up drive the call; the supervisor sees its recording and CDR', async () => {
    const ada = await server.login('ada');
    const sam = await server.login('sam');
    const alice = await server.login('alice');
    const queues = Object.fromEntries((await server.ok('GET', T + '/queues', undefined, ada)).map((q) => [q.name, q]));
    await server.ok('PUT', `${T}/queues/${queues.support.id}/voice`, { record: true }, ada);

    const desk = await signIn(browser, server, 'alice');
    const phone = desk.locator('#phone');
    await phone.filter({ hasText: 'Phone not registered' }).waitFor();
    assert.match(await desk.locator('#phone-help').textContent(), /user name alice/);
    // Her softphone registers: the indicator turns by push, no reload.
    assert.equal((await peer.send({ cmd: 'register', user: 'alice', password: 'demo' })).status, 200);
    await phone.filter({ hasText: 'Phone registered' }).waitFor();
    assert.equal(await phone.getAttribute('data-phone'), 'registered');
    await desk.getByRole('button', { name: 'Available', exact: true }).click();
    await desk.locator('#activity', { hasText: 'Available' }).waitFor();

    // A customer calls the support number; her phone rings and answers: the call is on the desk.
    await peer.send({ cmd: 'call', number: '+15550100' });
    const card = desk.locator('article.card[data-channel="voice"]');
    await card.locator('.pill', { hasText: 'connected' }).waitFor();
    const ixId = Number(await card.getAttribute('data-interaction'));
    await peer.until((s) => s.customer.heard_agent > 10 && s.phones.alice.heard_customer > 10, 'both hear each other');
    await shot(desk, 'desktop-call');

    // Held from another screen (the supervisor, through the API): the card shows it by push,
    // with nothing clicked here; and after a reload during the hold, from the server's view.
    await server.ok('POST', `${T}/interactions/${ixId}/hold`, {}, sam);
    await card.getByRole('button', { name: 'Resume', exact: true }).waitFor();
    await card.locator('[role=status]', { hasText: 'On hold' }).waitFor();
    await desk.reload();
    await card.locator('.pill', { hasText: 'connected' }).waitFor();
    await card.getByRole('button', { name: 'Resume', exact: true }).waitFor();
    await card.locator('[role=status]', { hasText: 'On hold' }).waitFor();
    assert.equal(await card.getByRole('button', { name: 'Hold' }).count(), 0);
    // Resume from the card takes it off hold, for the API too.
    await card.getByRole('button', { name: 'Resume', exact: true }).click();
    await card.getByRole('button', { name: 'Hold' }).waitFor();
    assert.equal(await card.locator('[role=status]', { hasText: 'On hold' }).count(), 0);
    assert.equal((await server.request('POST', `${T}/interactions/${ixId}/resume`, {}, sam)).status, 409);
    // A recording pause made through the API by another client shows on the card, and goes.
    await server.ok('POST', `${T}/interactions/${ixId}/recording/pause`, {}, sam);
    await card.getByRole('button', { name: 'Resume recording' }).waitFor();
    await card.locator('[role=status]', { hasText: 'Recording paused' }).waitFor();
    await server.ok('POST', `${T}/interactions/${ixId}/recording/resume`, {}, sam);
    await card.getByRole('button', { name: 'Pause recording' }).waitFor();

    // Hold: the customer hears music, not alice; the server says the call is already held.
    await card.getByRole('button', { name: 'Hold' }).click();
    await card.getByRole('button', { name: 'Resume', exact: true }).waitFor();
    await card.locator('[role=status]', { hasText: 'On hold' }).waitFor();
    assert.equal((await server.request('POST', `${T}/interactions/${ixId}/hold`, {}, alice)).status, 409);
    await sleep(300);
    const held = await peer.state();
    await sleep(1000);
    const later = await peer.state();
    assert.equal(later.customer.heard_agent, held.customer.heard_agent, 'alice is not heard on hold');
    assert.ok(later.customer.rx - held.customer.rx >= 30, 'the customer hears music on hold');
    await shot(desk, 'desktop-call-hold');
    await card.getByRole('button', { name: 'Resume', exact: true }).click();
    await card.getByRole('button', { name: 'Hold' }).waitFor();
    await peer.until((s) => s.customer.heard_agent > later.customer.heard_agent + 10, 'alice heard again');
    assert.equal((await server.request('POST', `${T}/interactions/${ixId}/resume`, {}, alice)).status, 409);

    // Recording paused and resumed from the card; the recording's record shows the pause.
    await card.getByRole('button', { name: 'Pause recording' }).click();
    await card.getByRole('button', { name: 'Resume recording' }).waitFor();
    await card.locator('[role=status]', { hasText: 'Recording paused' }).waitFor();
    assert.equal((await server.request('POST', `${T}/interactions/${ixId}/recording/pause`, {}, alice)).status, 409);
    await sleep(500);
    await card.getByRole('button', { name: 'Resume recording' }).click();
    await card.getByRole('button', { name: 'Pause recording' }).waitFor();
    await sleep(300);

    // Hang up from the card: both legs get BYE, the agent wraps up.
    await card.getByRole('button', { name: 'Hang up' }).click();
    await peer.until((s) => s.customer.bye_in && s.phones.alice.byes_in >= 1, 'both legs hung up');
    await card.locator('.pill', { hasText: 'wrap-up' }).waitFor();
    assert.equal(await card.locator('.call').isVisible(), false);
    await card.getByLabel('Disposition').selectOption('resolved');
    await card.getByRole('button', { name: 'Complete' }).click();
    await card.waitFor({ state: 'detached' });

    // The supervisor's Calls page: the recording (ended, two pauses) plays from the download
    // route; the CDR row of the call; the CSV link carries the filters.
    const recs = await (async () => {
      for (let i = 0; i < 100; i++) {
        const r = await server.ok('GET', `${T}/recordings?interaction=${ixId}`, undefined, sam);
        if (r.length && r[0].ended) return r;
        await sleep(100);
      }
      throw new Error('recording not ended');
    })();
    assert.equal(recs[0].paused.length, 2);  // the API's, then the card's
    const calls = await signIn(browser, server, 'sam');
    // The wallboard (sam's first page) says whose phone is registered.
    await calls.locator('tr[data-agent="alice"] td.phone[data-phone="registered"]').waitFor();
    assert.equal(await calls.locator('tr[data-agent="bob"] td.phone').textContent(), '—');
    await calls.getByRole('link', { name: 'Calls' }).click();
    await calls.waitForURL(/calls\.html/);
    const recRow = calls.locator(`#recordings tr[data-recording="${recs[0].id}"]`);
    await recRow.waitFor();
    assert.match(await recRow.textContent(), /support/);
    assert.match(await recRow.textContent(), /Alice/);
    assert.match(await recRow.textContent(), /2×/);
    const audio = recRow.locator('audio');
    // The browser loads and decodes the WAV through the cookie-authenticated route.
    const duration = await audio.evaluate((el) => new Promise((resolve, reject) => {
      el.preload = 'auto';
      el.addEventListener('loadedmetadata', () => resolve(el.duration), { once: true });
      el.addEventListener('error', () => reject(new Error('audio error ' + (el.error && el.error.code))), { once: true });
      el.load();
    }));
    assert.ok(duration > 1 && duration < 60, `recording lasts ${duration} s`);
    const download = await recRow.getByRole('link', { name: 'Download' }).getAttribute('href');
    const wav = await calls.evaluate(async (href) => {
      const r = await fetch(href);
      const b = new Uint8Array(await r.arrayBuffer());
      return { status: r.status, type: r.headers.get('content-type'), riff: String.fromCharCode(...b.slice(0, 4)), size: b.length };
    }, download);
    assert.deepEqual([wav.status, wav.type, wav.riff], [200, 'audio/wav', 'RIFF']);
    assert.ok(wav.size > 8000, `${wav.size} bytes`);

    const cdrRow = calls.locator(`#cdrs tr[data-interaction="${ixId}"]`);
    await cdrRow.waitFor();
    const cells = await cdrRow.locator('td').allTextContents();
    assert.equal(cells[2], '+15550100');
    assert.equal(cells[3], 'support');
    assert.equal(cells[4], 'Alice Agent');
    assert.equal(cells[5], 'answered');
    assert.equal(cells[6], 'agent');
    // Its recording plays from the CDR row (the recordings table's player).
    await cdrRow.getByRole('button', { name: `Play the recording of call ${ixId}` }).click();
    await calls.waitForFunction(() => { const a = document.querySelector('#recordings audio'); return a && !a.paused && a.currentTime > 0; });
    // Filtered to another queue: no calls; the CSV link follows the filters.
    await calls.getByLabel('Queue').selectOption({ label: 'billing' });
    await calls.getByRole('button', { name: 'Show' }).click();
    await calls.locator('#cdrs td', { hasText: 'No calls in this range.' }).waitFor();
    assert.match(await calls.locator('#cdr-csv').getAttribute('href'), new RegExp(`cdrs\\.csv\\?queue=${queues.billing.id}$`));
    await calls.getByLabel('Queue').selectOption({ label: 'support' });
    await calls.getByRole('button', { name: 'Show' }).click();
    await cdrRow.waitFor();
    const csv = await calls.evaluate(async (href) => (await fetch(href)).text(), await calls.locator('#cdr-csv').getAttribute('href'));
    const rows = csv.trim().split('\r\n');
    assert.match(rows[0], /^call,interaction,leg,role/);
    assert.ok(rows.slice(1).some((r) => r.split(',')[1] === String(ixId) && r.includes(',agent,')), csv);
    await shot(calls, 'calls-page');

    // A second call, transferred from the card to the billing queue: alice's phone is hung up,
    // the card goes, the caller waits in billing (and then hangs up).
    await peer.send({ cmd: 'call', number: '+15550100' });
    const card2 = desk.locator('article.card[data-channel="voice"]');
    await card2.locator('.pill', { hasText: 'connected' }).waitFor();
    const ix2 = Number(await card2.getAttribute('data-interaction'));
    assert.notEqual(ix2, ixId);
    await card2.getByLabel('Transfer to', { exact: true }).selectOption({ label: 'billing' });
    await card2.getByRole('button', { name: 'Transfer' }).click();
    await card2.waitFor({ state: 'detached' });
    await peer.until((s) => s.phones.alice.byes_in >= 2, 'alice\'s phone hung up by the transfer');
    const moved = await server.ok('GET', `${T}/interactions/${ix2}`, undefined, sam);
    assert.deepEqual([moved.state, moved.queue], ['queued', queues.billing.id]);
    assert.equal((await peer.state()).customer.bye_in, false);
    await peer.send({ cmd: 'hangup' });

    // The phone unregisters: the desktop says so.
    assert.equal((await peer.send({ cmd: 'unregister', user: 'alice' })).status, 200);
    await phone.filter({ hasText: 'Phone not registered' }).waitFor();
    assert.deepEqual(desk.errors || [], []);
    assert.deepEqual(calls.errors || [], []);
    await desk.context().close();
    await calls.context().close();
  });

  test('the supervisor listens, whispers and stops from the Calls page', async () => {
    const sam = await server.login('sam');
    const alice = await server.login('alice');
    const page = await signIn(browser, server, 'sam');
    await page.goto(server.base + '/app/calls.html');
    await page.locator('#my-phone[data-phone="unregistered"]').waitFor();

    assert.equal((await peer.send({ cmd: 'register', user: 'alice', password: 'demo' })).status, 200);
    await server.ok('PUT', T + '/me/presence', { state: 'available' }, alice);
    await peer.send({ cmd: 'call', number: '+15550100' });
    const row = page.locator('#live tr[data-interaction]');
    await row.waitFor();
    const ix = Number(await row.getAttribute('data-interaction'));
    assert.match(await row.textContent(), /Alice Agent/);
    assert.match(await row.textContent(), /Vera Customer/);

    // Without a registered phone the API refuses, and the page says why.
    await row.getByRole('button', { name: 'Listen' }).click();
    await page.locator('#live-error', { hasText: /phone/i }).waitFor();

    // Sam's phone registers (the page's pill turns); Listen rings it, it answers, sam hears the call.
    assert.equal((await peer.send({ cmd: 'register', user: 'sam', password: 'demo' })).status, 200);
    await page.locator('#my-phone[data-phone="registered"]').waitFor();
    await row.getByRole('button', { name: 'Listen' }).click();
    await page.locator(`#live tr[data-interaction="${ix}"][data-monitor="listen:joined"]`).waitFor();
    assert.equal(await page.locator('#live-error').textContent(), '');
    const joined = await peer.until((s) => s.phones.sam.answered === 1 && s.phones.sam.rx > 20, 'sam hears the call');
    let view = await server.ok('GET', `${T}/interactions/${ix}`, undefined, sam);
    assert.deepEqual([view.monitor.mode, view.monitor.state, view.monitor.supervisor], ['listen', 'joined', (await server.ok('GET', '/api/v1/me', undefined, sam)).user.id]);
    await shot(page, 'calls-monitor');

    // Whisper, live; then Stop: sam's phone gets BYE, the row offers Listen again.
    await row.getByRole('button', { name: 'Whisper' }).click();
    await page.locator(`#live tr[data-interaction="${ix}"][data-monitor="whisper:joined"]`).waitFor();
    view = await server.ok('GET', `${T}/interactions/${ix}`, undefined, sam);
    assert.equal(view.monitor.mode, 'whisper');
    await row.getByRole('button', { name: 'Stop' }).click();
    await peer.until((s) => s.phones.sam.byes_in === 1, 'sam\'s phone hung up');
    await page.locator(`#live tr[data-interaction="${ix}"][data-monitor=""]`).waitFor();
    assert.equal((await server.ok('GET', `${T}/interactions/${ix}`, undefined, sam)).monitor, null);
    assert.ok(joined.phones.alice.heard_customer > 0);

    // Changes made elsewhere reach the row by push (the page no longer polls): a barge started
    // through the API rings sam's phone, which answers; the agent holds; the API stops it.
    await server.ok('POST', `${T}/interactions/${ix}/monitor`, { mode: 'barge' }, sam);
    await page.locator(`#live tr[data-interaction="${ix}"][data-monitor="barge:joined"]`).waitFor();
    await server.ok('POST', `${T}/interactions/${ix}/hold`, {}, alice);
    await page.locator(`#live tr[data-interaction="${ix}"][data-hold="true"]`).waitFor();
    assert.match(await row.locator('td.call-state').textContent(), /on hold/);
    await server.ok('POST', `${T}/interactions/${ix}/resume`, {}, alice);
    await page.locator(`#live tr[data-interaction="${ix}"][data-hold="false"]`).waitFor();
    await server.ok('DELETE', `${T}/interactions/${ix}/monitor`, undefined, sam);
    await peer.until((s) => s.phones.sam.byes_in === 2, 'sam\'s phone hung up again');
    await page.locator(`#live tr[data-interaction="${ix}"][data-monitor=""]`).waitFor();

    // The call ends: it leaves the live list (an agent frame tells the page).
    await peer.send({ cmd: 'hangup' });
    await row.waitFor({ state: 'detached' });
    await page.locator('#no-live').waitFor();
    assert.deepEqual(page.errors || [], []);
    await page.context().close();
    // Alice's wrap-up done, the phones gone: the next test starts clean.
    await wrapUp(alice);
    for (const user of ['alice', 'sam']) assert.equal((await peer.send({ cmd: 'unregister', user })).status, 200);
  });

  // Completes the caller's wrap-ups by the API.
  async function wrapUp(token) {
    for (const ix of await server.ok('GET', T + '/interactions?live=1', undefined, token)) {
      if (ix.state === 'wrap_up') await server.ok('POST', `${T}/interactions/${ix.id}/wrapup`, { disposition: 'resolved' }, token);
    }
  }

  test('the agent dials a number from the desktop and transfers a call to a number', async () => {
    const ada = await server.login('ada');
    const alice = await server.login('alice');
    // The trunk's outbound side points at a carrier that answers.
    const { port } = await peer.send({ cmd: 'carrier' });
    const trunk = (await server.ok('GET', T + '/trunks', undefined, ada)).find((t) => t.name === 'local');
    await server.ok('PATCH', `${T}/trunks/${trunk.id}`, { outbound: { host: '127.0.0.1', port, transport: 'udp', caller_id: '+15550100' } }, ada);

    const desk = await signIn(browser, server, 'alice');
    // Without a registered phone the call is refused, and the reason shows.
    await desk.getByLabel('Call a number').fill('+1 555 0199');
    await desk.getByRole('button', { name: 'Call', exact: true }).click();
    await desk.locator('#dial-error', { hasText: /phone/i }).waitFor();
    assert.equal((await peer.send({ cmd: 'register', user: 'alice', password: 'demo' })).status, 200);
    await desk.locator('#phone', { hasText: 'Phone registered' }).waitFor();
    // Not a number: the API's 400, shown.
    await desk.getByLabel('Call a number').fill('call me');
    await desk.getByRole('button', { name: 'Call', exact: true }).click();
    await desk.locator('#dial-error', { hasText: /E\.164|number/ }).waitFor();

    await desk.getByLabel('Call a number').fill('+1 555 0199');
    await desk.getByLabel('For queue (wrap-up, recording)').selectOption({ label: 'sales' });
    await desk.getByRole('button', { name: 'Call', exact: true }).click();
    const card = desk.locator('article.card[data-channel="voice"]');
    await card.locator('.pill', { hasText: 'outgoing call' }).waitFor();
    assert.equal(await desk.locator('#dial-error').textContent(), '');
    const ixId = Number(await card.getAttribute('data-interaction'));
    // Alice's phone rang first; then the carrier got the call and answered.
    await peer.until((s) => s.phones.alice.answered >= 1 && s.phones.carrier.answered === 1, 'agent then carrier answered');
    const ix = await server.ok('GET', `${T}/interactions/${ixId}`, undefined, alice);
    assert.deepEqual([ix.direction, ix.state, ix.customer.phone], ['outbound', 'connected', '+15550199']);
    assert.equal(ix.queue, (await server.ok('GET', T + '/queues', undefined, ada)).find((q) => q.name === 'sales').id);
    await shot(desk, 'desktop-outbound');
    await card.getByRole('button', { name: 'Hang up' }).click();
    await peer.until((s) => s.phones.carrier.byes_in === 1, 'the carrier got BYE');
    await card.locator('.pill', { hasText: 'wrap-up' }).waitFor();
    await card.getByLabel('Disposition').selectOption('resolved');
    await card.getByRole('button', { name: 'Complete' }).click();
    await card.waitFor({ state: 'detached' });

    // An inbound call transferred to a number: alice's phone is hung up and she wraps up; the
    // carrier answers the customer.
    await desk.getByRole('button', { name: 'Available', exact: true }).click();
    await peer.send({ cmd: 'call', number: '+15550100' });
    const card2 = desk.locator('article.card[data-channel="voice"]');
    await card2.locator('.pill', { hasText: 'connected' }).waitFor();
    const byes = (await peer.state()).phones.alice.byes_in;
    await card2.getByLabel('Transfer to', { exact: true }).selectOption('number');
    await card2.getByLabel('Transfer to number').fill('+15550199');
    await card2.getByRole('button', { name: 'Transfer' }).click();
    await card2.locator('.pill', { hasText: 'wrap-up' }).waitFor();
    await peer.until((s) => s.phones.alice.byes_in === byes + 1 && s.phones.carrier.answered === 2, 'the carrier has the customer');
    assert.equal((await peer.state()).customer.bye_in, false);
    await peer.send({ cmd: 'hangup' });
    await peer.until((s) => s.phones.carrier.byes_in === 2, 'the customer hung up on the carrier');
    assert.deepEqual(desk.errors || [], []);
    await desk.context().close();
    await wrapUp(alice);
    assert.equal((await peer.send({ cmd: 'unregister', user: 'alice' })).status, 200);
  });

  test('consult a colleague and complete; blind transfer to a colleague', async () => {
    const sam = await server.login('sam');
    const alice = await server.login('alice');
    const bob = await server.login('bob');
    const users = Object.fromEntries((await server.ok('GET', T + '/users', undefined, sam)).map((u) => [u.login, u.id]));
    for (const user of ['alice', 'bob']) assert.equal((await peer.send({ cmd: 'register', user, password: 'demo' })).status, 200);
    // Bob on a break while the call comes to alice, then available for her to consult.
    await server.ok('PUT', T + '/me/presence', { state: 'break', reason: 'lunch' }, bob);
    const desk = await signIn(browser, server, 'alice');
    await desk.getByRole('button', { name: 'Available', exact: true }).click();
    await desk.locator('#activity', { hasText: 'Available' }).waitFor();
    await peer.send({ cmd: 'call', number: '+15550100' });
    const card = desk.locator('article.card[data-channel="voice"]');
    await card.locator('.pill', { hasText: 'connected' }).waitFor();
    const ixId = Number(await card.getAttribute('data-interaction'));
    await server.ok('PUT', T + '/me/presence', { state: 'available' }, bob);

    // Consult Bob (listed from the colleagues route, with his state), talk, complete.
    const consultTo = card.getByLabel('Consult', { exact: true });
    await consultTo.focus();
    await consultTo.locator(`option[value="agent:${users.bob}"]`, { hasText: 'Available' }).waitFor({ state: 'attached' });
    await consultTo.selectOption(`agent:${users.bob}`);
    await card.getByRole('button', { name: 'Consult', exact: true }).click();
    await card.locator('[role=status]', { hasText: 'Consulting Bob' }).waitFor();
    await peer.until((s) => s.phones.bob.answered === 1, 'bob answered the consultation');
    await shot(desk, 'desktop-consult');
    const byes = (await peer.state()).phones.alice.byes_in;
    await card.getByRole('button', { name: 'Complete transfer' }).click();
    await card.locator('.pill', { hasText: 'wrap-up' }).waitFor();
    await peer.until((s) => s.phones.alice.byes_in === byes + 1, 'alice left the call');
    const mine = await server.ok('GET', `${T}/interactions/${ixId}`, undefined, sam);
    assert.equal(mine.reason, 'transferred');
    const bobs = (await server.ok('GET', T + '/interactions?live=1', undefined, bob)).filter((ix) => ix.channel === 'voice' && ix.state === 'connected');
    assert.equal(bobs.length, 1);
    assert.equal(bobs[0].consult, false);
    assert.equal((await peer.state()).customer.bye_in, false);
    await card.getByLabel('Disposition').selectOption('resolved');
    await card.getByRole('button', { name: 'Complete' }).click();
    await card.waitFor({ state: 'detached' });
    await peer.send({ cmd: 'hangup' });
    await peer.until((s) => s.phones.bob.byes_in >= 1, 'the call ended with bob');
    await wrapUp(bob);

    // A second call, blind-transferred to Bob: his phone rings and answers; alice wraps up.
    await server.ok('PUT', T + '/me/presence', { state: 'break', reason: 'lunch' }, bob);
    await peer.send({ cmd: 'call', number: '+15550100' });
    const card2 = desk.locator('article.card[data-channel="voice"]');
    await card2.locator('.pill', { hasText: 'connected' }).waitFor();
    await server.ok('PUT', T + '/me/presence', { state: 'available' }, bob);
    const transferTo = card2.getByLabel('Transfer to', { exact: true });
    await transferTo.focus();
    await transferTo.locator(`option[value="agent:${users.bob}"]`, { hasText: 'Available' }).waitFor({ state: 'attached' });
    await transferTo.selectOption(`agent:${users.bob}`);
    await card2.getByRole('button', { name: 'Transfer' }).click();
    await card2.locator('.pill', { hasText: 'wrap-up' }).waitFor();
    await peer.until((s) => s.phones.bob.answered === 2, 'bob answered the transferred call');
    await peer.send({ cmd: 'hangup' });
    await peer.until((s) => s.phones.bob.byes_in >= 2, 'the call ended with bob');
    assert.deepEqual(desk.errors || [], []);
    await desk.context().close();
  });
});
