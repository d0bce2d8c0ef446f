// The supervisor planning page (forecast, required agents, calendar, schedules, adherence) and
// the agent's "My shifts", in a real browser against a real server. The server has no history,
// so the forecast is zeros: what matters here is that the week renders from the real API, that
// a calendar event added in the page is stored and listed, and that agents are refused.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Server, launchBrowser, signIn, shot } from './harness.mjs';

const T = '/api/v1/tenants/acme';

describe('planning', { timeout: 180000 }, () => {
  let server, browser;

  before(async () => {
    server = await new Server().start();
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.cleanup();
  });

  test('supervisor: forecast week, calendar event added and listed, adherence', async () => {
    const page = await signIn(browser, server, 'sam');
    const link = page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: 'Planning' });
    await link.click();
    await page.waitForURL(/\/app\/planning\.html/);
    await page.getByRole('heading', { name: 'Forecast and required agents' }).waitFor();

    // The coming week for support: seven days, 48 half-hour intervals each, from the real API.
    await page.getByLabel('Queue', { exact: true }).selectOption({ label: 'support' });
    const days = page.locator('#forecast-days tr');
    await days.nth(6).waitFor({ timeout: 30000 });
    assert.equal(await days.count(), 7);
    await page.locator('#chart-forecast svg[data-intervals="336"]').waitFor({ timeout: 30000 });
    await page.locator('#chart-agents svg[data-intervals="336"]').waitFor({ timeout: 30000 });
    assert.match(await page.locator('#forecast-meta').textContent(), /No history/);
    const csv = await page.locator('#forecast-csv').getAttribute('href');
    const queues = await page.evaluate(() => fetch('/api/v1/tenants/acme/queues').then((r) => r.json()));
    const support = queues.find((q) => q.name === 'support');
    assert.match(csv, new RegExp(`queue=${support.id}&.*format=csv`));
    // The CSV link works with the page's session cookie.
    const body = await page.evaluate((u) => fetch(u).then((r) => r.text()), csv);
    assert.match(body, /^interval_start,volume,aht_s,multiplier/);

    // A calendar event through the form: stored (the API lists it) and shown.
    await page.locator('#calendar tr', { hasText: 'No events' }).waitFor();
    await page.getByLabel('Name').fill('Spring sale');
    await page.getByLabel('First day').fill('2030-03-01');
    await page.getByLabel('Last day').fill('2030-03-03');
    await page.getByLabel('Multiplier').fill('1.8');
    await page.getByLabel('Applies to').selectOption({ label: 'support' });
    await page.getByRole('button', { name: 'Add event' }).click();
    const row = page.locator('#calendar tr', { hasText: 'Spring sale' });
    await row.waitFor({ timeout: 30000 });
    assert.match(await row.textContent(), /2030-03-01.*2030-03-03.*1\.8.*support/);
    const sam = await server.login('sam');
    const stored = await server.ok('GET', T + '/calendar', undefined, sam);
    assert.equal(stored.length, 1);
    assert.equal(stored[0].name, 'Spring sale');
    assert.equal(stored[0].queue, support.id);

    // Adherence: today's table and the live list render (nobody is scheduled yet).
    await page.locator('#adherence-title', { hasText: /Adherence on \d{4}-\d\d-\d\d/ }).waitFor({ timeout: 30000 });
    await page.locator('#adherence tr', { hasText: 'Nobody is scheduled' }).waitFor();
    await page.locator('#adherence-live li', { hasText: 'Everyone matches' }).waitFor();
    await page.locator('#schedules tr', { hasText: 'No schedules yet' }).waitFor();
    await shot(page, 'planning');

    // Deleting it from the page removes it from the store.
    await row.getByRole('button', { name: 'Delete Spring sale' }).click();
    await row.waitFor({ state: 'detached', timeout: 30000 });
    assert.equal((await server.ok('GET', T + '/calendar', undefined, sam)).length, 0);
    assert.deepEqual(page.errors || [], []);
  });

  test('agent: no Planning link, the page is refused; My shifts on the desktop', async () => {
    const page = await signIn(browser, server, 'alice');
    assert.match(page.url(), /desktop/);
    await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: 'Desktop' }).waitFor();
    assert.equal(await page.getByRole('link', { name: 'Planning' }).count(), 0);
    await page.locator('#myshifts li', { hasText: 'No published shifts ahead' }).waitFor({ timeout: 30000 });
    assert.match(await page.locator('#myshifts-ics').getAttribute('href'), /\/api\/v1\/tenants\/acme\/me\/shifts\.ics$/);

    await page.goto(server.base + '/app/planning.html');
    await page.getByText('This page is for supervisors.').waitFor();
    assert.equal(await page.locator('#forecast-days tr').count(), 0);
    await shot(page, 'planning-agent-refused');
    // And the API behind it refuses the agent too.
    const alice = await server.login('alice');
    assert.equal((await server.request('GET', T + '/calendar', undefined, alice)).status, 403);
  });
});
