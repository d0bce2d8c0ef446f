// The admin pages for voice in a real browser: a SIP trunk, a phone number and an IVR menu
// created through the forms and read back from the API; a queue's voice settings and a user's
// SIP password; bad input answered by the API shown in the form, nothing stored.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Server, launchBrowser, signIn, shot } from './harness.mjs';

const T = '/api/v1/tenants/acme';

describe('voice admin pages', { timeout: 120000 }, () => {
  let server, browser, ada, admin;

  before(async () => {
    server = await new Server().start();
    browser = await launchBrowser();
    ada = await server.login('ada');
    admin = await signIn(browser, server, 'ada');
  });
  after(async () => {
    await browser?.close();
    await server?.cleanup();
  });

  test('a trunk, a number and an IVR menu created in the pages are there for the API', async () => {
    const queues = Object.fromEntries((await server.ok('GET', T + '/queues', undefined, ada)).map((q) => [q.name, q]));

    // Trunk: inbound networks and digest credentials, outbound host/port/transport/credentials.
    await admin.getByRole('tab', { name: 'SIP trunks' }).click();
    await admin.locator('#pane h1', { hasText: 'SIP trunks' }).waitFor();  // the demo's trunk
    await admin.getByLabel('Name', { exact: true }).fill('carrier');
    await admin.getByLabel(/Source addresses/).fill('203.0.113.0/24\n2001:DB8::/32');
    await admin.getByLabel('Digest user name').fill('acme-carrier');
    await admin.locator('#f-in-password').fill('s3cret-in');
    await admin.getByLabel('Host').fill('sip.example.net');
    await admin.getByLabel('Port', { exact: true }).fill('5080');
    await admin.getByLabel('Transport').selectOption('tcp');
    await admin.getByLabel('Caller ID (E.164)').fill('+15550100');
    await admin.getByLabel('User name', { exact: true }).fill('acme');
    await admin.locator('#f-out-password').fill('s3cret-out');
    await admin.getByLabel(/^Priority/).fill('2');
    await admin.getByLabel(/^Number rings at most/).fill('45');
    await admin.getByRole('button', { name: 'Create trunk' }).click();
    const trunkRow = admin.locator('#pane tr', { hasText: 'carrier' });
    await trunkRow.locator('td', { hasText: 'sip.example.net:5080 tcp' }).waitFor();
    let trunk = (await server.ok('GET', T + '/trunks', undefined, ada)).find((t) => t.name === 'carrier');
    assert.deepEqual(trunk.inbound, { sources: ['203.0.113.0/24', '2001:db8::/32'], username: 'acme-carrier', password_set: true });
    assert.deepEqual(trunk.outbound, { host: 'sip.example.net', port: 5080, transport: 'tcp', username: 'acme', password_set: true, caller_id: '+15550100', priority: 2, dial_timeout_s: 45 });

    // Edited: the stored passwords stay unless typed or removed.
    await trunkRow.getByRole('button', { name: 'Edit' }).click();
    assert.equal(await admin.locator('#f-out-password').getAttribute('placeholder'), 'set: unchanged');
    await admin.getByLabel('Port', { exact: true }).fill('5060');
    // Removing the inbound password alone is refused by the API (a digest user needs one).
    await admin.locator('#f-in-password-clear').check();
    await admin.getByRole('button', { name: 'Save' }).click();
    await admin.locator('#pane form [role=alert]', { hasText: 'inbound.password is needed with inbound.username' }).waitFor();
    await admin.getByLabel('Digest user name').fill('');
    await admin.getByRole('button', { name: 'Save' }).click();
    await trunkRow.locator('td', { hasText: 'sip.example.net:5060 tcp' }).waitFor();
    trunk = await server.ok('GET', `${T}/trunks/${trunk.id}`, undefined, ada);
    assert.equal(trunk.inbound.password_set, false);
    assert.equal(trunk.inbound.username, '');
    assert.equal(trunk.outbound.password_set, true);
    await shot(admin, 'admin-trunks');

    // IVR menu: prompt, keys to a queue, another menu, a number; timeout, retries, on failure.
    await admin.getByRole('tab', { name: 'IVR menus' }).click();
    await admin.locator('#pane td', { hasText: 'main' }).first().waitFor();  // the demo's menu
    const demoMenu = (await server.ok('GET', T + '/ivr', undefined, ada)).find((m) => m.name === 'main');
    await admin.getByLabel('Name', { exact: true }).fill('after-hours');
    await admin.getByLabel('Prompt (spoken text)').fill('For billing press 1, for the main menu 2, for the operator 0.');
    const keyRows = admin.locator('.rows .r');
    await keyRows.nth(0).getByLabel('Key').selectOption('1');
    await keyRows.nth(0).getByLabel('Action').selectOption('queue');
    await keyRows.nth(0).getByLabel('Queue').selectOption(String(queues.billing.id));
    await admin.getByRole('button', { name: 'Add a key' }).click();
    await keyRows.nth(1).getByLabel('Key').selectOption('2');
    await keyRows.nth(1).getByLabel('Action').selectOption('menu');
    await keyRows.nth(1).getByLabel('Menu').selectOption(String(demoMenu.id));
    await admin.getByRole('button', { name: 'Add a key' }).click();
    await keyRows.nth(2).getByLabel('Key').selectOption('0');
    await keyRows.nth(2).getByLabel('Action').selectOption('number');
    await keyRows.nth(2).getByLabel('Number').fill('+15550199');
    await admin.getByLabel('Wait for a key (s)').fill('7');
    await admin.getByLabel('Play the prompt again, times').fill('1');
    const failure = admin.locator('.row', { hasText: 'Then:' });
    await failure.getByLabel('Action').selectOption('queue');
    await failure.getByLabel('Queue').selectOption(String(queues.support.id));
    await admin.getByRole('button', { name: 'Create IVR menu' }).click();
    await admin.locator('#pane tr', { hasText: 'after-hours' }).waitFor();
    const menu = (await server.ok('GET', T + '/ivr', undefined, ada)).find((m) => m.name === 'after-hours');
    assert.deepEqual(menu.options, { 1: { queue: queues.billing.id }, 2: { menu: demoMenu.id }, 0: { number: '+15550199' } });
    assert.equal(menu.timeout_s, 7);
    assert.equal(menu.max_retries, 1);
    assert.deepEqual(menu.on_failure, { queue: queues.support.id });
    assert.match(menu.prompt_text, /operator 0/);
    await shot(admin, 'admin-ivr');

    // Number: formatted input normalised to E.164, routed to the new menu through the trunk.
    await admin.getByRole('tab', { name: 'Phone numbers' }).click();
    await admin.locator('#pane h1', { hasText: 'Phone numbers' }).waitFor();
    await admin.getByLabel('Number (E.164)').fill('+1 (555) 010-9');
    await admin.getByLabel('Name', { exact: true }).fill('After hours line');
    await admin.getByLabel('Calls go to').selectOption('ivr');
    await admin.getByLabel('IVR menu').selectOption(String(menu.id));
    await admin.getByLabel('Only through trunk').selectOption(String(trunk.id));
    await admin.getByRole('button', { name: 'Create number' }).click();
    await admin.locator('#pane tr', { hasText: '+15550109' }).locator('td', { hasText: 'IVR menu after-hours' }).waitFor();
    const number = (await server.ok('GET', T + '/numbers', undefined, ada)).find((n) => n.number === '+15550109');
    assert.deepEqual({ name: number.name, queue: number.queue, ivr: number.ivr, trunk: number.trunk },
      { name: 'After hours line', queue: 0, ivr: menu.id, trunk: trunk.id });
    await shot(admin, 'admin-numbers');

    // The trunk is in use: deleting it is refused with the API's reason, shown on the page.
    await admin.getByRole('tab', { name: 'SIP trunks' }).click();
    admin.once('dialog', (d) => d.accept());
    await admin.locator('#pane tr', { hasText: 'carrier' }).getByRole('button', { name: 'Delete' }).click();
    await admin.locator('#pane [role=alert]', { hasText: /Cannot delete trunk carrier/ }).waitFor();
    assert.ok((await server.ok('GET', T + '/trunks', undefined, ada)).some((t) => t.name === 'carrier'));
    assert.deepEqual(admin.errors || [], []);
  });

  test('bad input shows the API error and stores nothing', async () => {
    const before = { numbers: await server.ok('GET', T + '/numbers', undefined, ada), trunks: await server.ok('GET', T + '/trunks', undefined, ada) };
    await admin.getByRole('tab', { name: 'Phone numbers' }).click();
    await admin.locator('#pane h1', { hasText: 'Phone numbers' }).waitFor();
    await admin.getByLabel('Number (E.164)').fill('0044 20 7946 0000');  // a 00 prefix, not E.164
    await admin.getByRole('button', { name: 'Create number' }).click();
    await admin.locator('#pane form [role=alert]', { hasText: /number/i }).waitFor();
    // A number another line already has: 409 from the API, said in the form.
    await admin.getByLabel('Number (E.164)').fill('+15550100');
    await admin.getByRole('button', { name: 'Create number' }).click();
    await admin.locator('#pane form [role=alert]', { hasText: /already|exists|taken|in use/i }).waitFor();

    await admin.getByRole('tab', { name: 'SIP trunks' }).click();
    await admin.locator('#pane h1', { hasText: 'SIP trunks' }).waitFor();
    await admin.getByLabel('Name', { exact: true }).fill('broken');
    await admin.getByLabel(/Source addresses/).fill('10.1.2.3/8');  // bits set below the prefix
    await admin.getByRole('button', { name: 'Create trunk' }).click();
    const alert = admin.locator('#pane form [role=alert]');
    await alert.filter({ hasText: /10\.1\.2\.3\/8|source/i }).waitFor();
    await shot(admin, 'admin-trunk-error');

    assert.deepEqual(await server.ok('GET', T + '/numbers', undefined, ada), before.numbers);
    assert.deepEqual(await server.ok('GET', T + '/trunks', undefined, ada), before.trunks);
  });

  test('a queue\'s voice settings and a user\'s SIP password', async () => {
    const queues = Object.fromEntries((await server.ok('GET', T + '/queues', undefined, ada)).map((q) => [q.name, q]));
    await admin.getByRole('tab', { name: 'Queues' }).click();
    await admin.locator('#pane tr', { hasText: 'billing' }).getByRole('button', { name: 'Edit' }).click();
    await admin.getByLabel('Greeting (spoken text)').fill('Welcome to billing.');
    await admin.getByLabel('Music on hold file (WAV)').fill('jazz.wav');
    await admin.getByLabel(/Announce the position every/).fill('30');
    await admin.getByLabel(/Record calls/).check();
    await admin.getByRole('button', { name: 'Save' }).click();
    await admin.locator('#pane tr', { hasText: 'billing' }).locator('td', { hasText: 'recorded' }).waitFor();
    const { greeting_text, greeting_file, moh_file, position_interval_s, record } = await server.ok('GET', `${T}/queues/${queues.billing.id}/voice`, undefined, ada);
    assert.deepEqual({ greeting_text, greeting_file, moh_file, position_interval_s, record },
      { greeting_text: 'Welcome to billing.', greeting_file: '', moh_file: 'jazz.wav', position_interval_s: 30, record: true });
    // A bad file name: the queue is saved, the voice settings are not, and the form says why.
    await admin.locator('#pane tr', { hasText: 'billing' }).getByRole('button', { name: 'Edit' }).click();
    await admin.getByLabel('Music on hold file (WAV)').fill('../etc/passwd');
    await admin.getByRole('button', { name: 'Save' }).click();
    await admin.locator('#pane form [role=alert]', { hasText: /saved, but/ }).waitFor();
    assert.equal((await server.ok('GET', `${T}/queues/${queues.billing.id}/voice`, undefined, ada)).moh_file, 'jazz.wav');

    // Bob's phone password (the demo sets one): removed through the box, then set again in the
    // user form; a too short one refused with the API's reason.
    const sipSet = async () => (await server.ok('GET', T + '/users', undefined, ada)).find((u) => u.login === 'bob').sip_password;
    assert.equal(await sipSet(), true);
    await admin.getByRole('tab', { name: 'Users and roles' }).click();
    const bobRow = admin.locator('#pane tr', { hasText: 'Bob' }).first();
    await bobRow.getByRole('button', { name: 'Edit' }).click();
    await admin.getByLabel('Remove the SIP password').check();
    await admin.getByRole('button', { name: 'Save' }).click();
    await bobRow.locator('td').nth(5).filter({ hasText: '—' }).waitFor();
    assert.equal(await sipSet(), false);
    await bobRow.getByRole('button', { name: 'Edit' }).click();
    assert.equal(await admin.getByLabel('SIP password').getAttribute('placeholder'), 'none');
    await admin.getByLabel('SIP password').fill('abc');
    await admin.getByRole('button', { name: 'Save' }).click();
    await admin.locator('#pane form [role=alert]', { hasText: /saved, but/ }).waitFor();
    assert.equal(await sipSet(), false);
    await admin.getByLabel('SIP password').fill('phone-pass-42');
    await admin.getByRole('button', { name: 'Save' }).click();
    await bobRow.locator('td', { hasText: 'SIP password set' }).waitFor();
    assert.equal(await sipSet(), true);
    assert.deepEqual(admin.errors || [], []);
  });
});
