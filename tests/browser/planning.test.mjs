// The supervisor planning page (forecast, required agents, calendar, schedules, adherence) and
// the agent's "My shifts", in a real browser against a real server. The server has no history,
// so the forecast is zeros: what matters here is that the week renders from the real API, that
// a calendar event added in the page is stored and listed, and that agents are refused.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Server, launchBrowser, signIn, shot } from './harness.mjs';

const T = '/api/v1/tenants/acme';

// A week starting on a Monday at least two days ahead (so that no shift of it is "today" in
// any time zone), one 8-hour shift for alice on its Monday from 09:00 UTC.
function problem() {
  const d = new Date(Date.now() + 2 * 86400000);
  d.setUTCHours(0, 0, 0, 0);
  d.setUTCDate(d.getUTCDate() + ((8 - d.getUTCDay()) % 7));
  const required = new Array(672).fill(0);
  for (let i = 36; i < 68; i++) required[i] = 1;
  return {
    week_start: d.toISOString().replace('.000Z', 'Z'), required, min_rest_hours: 11,
    weights: { under: 1000, over: 1 },
    templates: [{ id: 'day', length_min: 480, days: ['mon'], starts: ['09:00'] }],
    agents: [{ id: 'alice', contract: 'employee', min_hours: 8, max_hours: 8, hourly_rate: 20 }],
  };
}

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

  test('supervisor: forecast week, calendar event added and listed, schedule published, adherence', async () => {
    const sam = await server.login('sam');
    const draft = await server.ok('POST', T + '/schedules?time_limit=20&name=Week%20one', problem(), sam);
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
    const stored = await server.ok('GET', T + '/calendar', undefined, sam);
    assert.equal(stored.length, 1);
    assert.equal(stored[0].name, 'Spring sale');
    assert.equal(stored[0].queue, support.id);

    // Adherence: today's table and the live list render (nobody is scheduled yet).
    await page.locator('#adherence-title', { hasText: /Adherence on \d{4}-\d\d-\d\d/ }).waitFor({ timeout: 30000 });
    await page.locator('#adherence tr', { hasText: 'Nobody is scheduled' }).waitFor();
    await page.locator('#adherence-live li', { hasText: 'Everyone matches' }).waitFor();

    // The draft with its coverage, published from the page.
    const sched = page.locator(`#schedules tr[data-schedule="${draft.id}"]`);
    await sched.locator('.pill', { hasText: 'draft' }).waitFor();
    const cells = await sched.locator('td').allTextContents();
    assert.equal(cells[5], String(draft.under_total ?? draft.coverage.reduce((t, c) => t + c.under, 0)));
    await sched.getByRole('button', { name: 'Publish Week one' }).click();
    await sched.locator('.pill', { hasText: 'published' }).waitFor({ timeout: 30000 });
    assert.equal(await sched.getByRole('button', { name: /Publish/ }).count(), 0);
    const listed = await server.ok('GET', T + '/schedules', undefined, sam);
    assert.equal(listed.find((x) => x.id === draft.id).state, 'published');
    await shot(page, 'planning');

    // Deleting it from the page removes it from the store.
    await row.getByRole('button', { name: 'Delete Spring sale' }).click();
    await row.waitFor({ state: 'detached', timeout: 30000 });
    assert.equal((await server.ok('GET', T + '/calendar', undefined, sam)).length, 0);
    assert.deepEqual(page.errors || [], []);
  });

  test('agent: no Planning link, the page is refused; My shifts on the desktop', async () => {
    // The schedule published above: alice's Monday shift.
    const page = await signIn(browser, server, 'alice');
    assert.match(page.url(), /desktop/);
    await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: 'Desktop' }).waitFor();
    assert.equal(await page.getByRole('link', { name: 'Planning' }).count(), 0);
    await page.locator('#myshifts li', { hasText: 'Mon' }).waitFor({ timeout: 30000 });
    assert.equal(await page.locator('#myshifts li').count(), 1);
    await shot(page, 'desktop-myshifts');
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
