// The supervisor planning page (workforce management, docs/wfm.md): the coming week's forecast
// and required agents for a queue, the calendar events that move the forecast, the schedules
// with their coverage and a Publish button, and today's adherence. Everything comes from the
// REST API; the CSV links are the same routes with format=csv (the session cookie goes along).
import { get, post, del } from './lib/api.js';
import { h, replace, toast } from './lib/dom.js';
import { startPage } from './lib/session.js';

const $ = (id) => document.getElementById(id);
const state = { ctx: null, queues: [], req: null };
const API = '/api/v1';

async function main() {
  state.ctx = await startPage('planning', 'supervisor');
  state.queues = await get(state.ctx.T + '/queues');
  replace($('queue'), state.queues.map((q) => h('option', { value: q.id }, q.name)));
  replace($('ev-queue'), h('option', { value: '0' }, 'Every queue'), state.queues.map((q) => h('option', { value: q.id }, q.name)));
  for (const id of ['queue', 'target-sl', 'answer-within']) $(id).addEventListener('change', loadForecast);
  $('calendar-form').addEventListener('submit', addEvent);
  $('adherence-csv').href = `${API}${state.ctx.T}/adherence?format=csv`;
  await Promise.all([loadForecast(), loadCalendar(), loadSchedules(), loadAdherence()]);
}

// ---- forecast and requirements -------------------------------------------------------------

function query(csv) {
  const p = new URLSearchParams({ queue: $('queue').value, weeks: '1', interval: '30',
    target_sl: $('target-sl').value, answer_within: $('answer-within').value });
  if (csv) p.set('format', 'csv');
  return p;
}

let generation = 0;
async function loadForecast() {
  const mine = ++generation;
  const p = query(false);
  $('forecast-csv').href = `${API}${state.ctx.T}/forecast?queue=${p.get('queue')}&weeks=1&interval=30&format=csv`;
  $('requirements-csv').href = `${API}${state.ctx.T}/requirements?${query(true)}`;
  $('forecast-table').setAttribute('aria-busy', 'true');
  try {
    const r = await get(`${state.ctx.T}/requirements?${p}`);
    if (mine !== generation) return;  // a newer choice is on its way
    state.req = r;
    renderForecast();
  } catch (e) {
    if (mine === generation) replace($('forecast-meta'), e.message);
  } finally {
    if (mine === generation) $('forecast-table').removeAttribute('aria-busy');
  }
}

const day = (start) => String(start).slice(0, 10);
const time = (start) => String(start).slice(11, 16);
const round1 = (x) => Math.round(x * 10) / 10;

function renderForecast() {
  const r = state.req;
  $('forecast-meta').textContent = r.history_days
    ? `Learned from ${r.history_days} days of history; times are the company's local time.`
    : 'No history for this queue yet: the forecast is zero until contacts have been handled.';
  const days = new Map();
  for (const row of r.intervals) {
    const d = days.get(day(row.start)) || { contacts: 0, work: 0, peak: 0, hours: 0 };
    d.contacts += row.volume;
    d.work += row.volume * row.aht_s;
    d.peak = Math.max(d.peak, row.scheduled_agents);
    d.hours += (row.scheduled_agents * r.interval_min) / 60;
    days.set(day(row.start), d);
  }
  replace($('forecast-days'), [...days].map(([d, v]) => h('tr', { dataset: { day: d } },
    h('th', { scope: 'row' }, new Date(d + 'T12:00:00Z').toLocaleDateString([], { weekday: 'short', day: 'numeric', month: 'short', timeZone: 'UTC' })),
    h('td.num', {}, round1(v.contacts)),
    h('td.num', {}, v.contacts > 0 ? `${Math.round(v.work / v.contacts)} s` : '—'),
    h('td.num', {}, v.peak),
    h('td.num', {}, round1(v.hours)))));
  replace($('chart-forecast'), bars(r.intervals, (x) => x.volume, 'Forecast contacts', (x) => `${round1(x.volume)} contacts, AHT ${Math.round(x.aht_s)} s`));
  replace($('chart-agents'), bars(r.intervals, (x) => x.scheduled_agents, 'Required agents', (x) => `${x.scheduled_agents} agents (${x.agents} on the phones)`));
}

const SVG = 'http://www.w3.org/2000/svg';
function s(tag, attrs, text) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (text !== undefined) el.textContent = text;
  return el;
}

// One bar per interval over the week, a label at each day's start; the figures per day are in
// the table below for screen readers, each bar has its own tooltip.
function bars(rows, value, what, tip) {
  const W = 700, H = 180, L = 30, B = 20, n = Math.max(rows.length, 1), bw = (W - L) / n;
  const max = Math.max(1, ...rows.map(value));
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': `${what} per ${state.req.interval_min} minutes for the week; peak ${round1(Math.max(0, ...rows.map(value)))}` });
  svg.append(s('line', { x1: L, y1: H - B, x2: W, y2: H - B, class: 'axis' }), s('text', { x: 0, y: 12 }, String(round1(max))), s('text', { x: 0, y: H - B }, '0'));
  rows.forEach((r, i) => {
    const bh = ((H - B - 10) * value(r)) / max;
    const bar = s('rect', { x: L + i * bw, y: H - B - bh, width: Math.max(0.5, bw), height: bh, class: 'bar' });
    bar.append(s('title', {}, `${day(r.start)} ${time(r.start)}: ${tip(r)}`));
    svg.append(bar);
    if (time(r.start) === '00:00') svg.append(s('text', { x: L + i * bw, y: H - 4 }, day(r.start).slice(5)));
  });
  svg.dataset.intervals = String(rows.length);
  return svg;
}

// ---- calendar ------------------------------------------------------------------------------

function queueName(id) {
  return id ? (state.queues.find((q) => q.id === id) || { name: `#${id}` }).name : 'Every queue';
}

async function loadCalendar() {
  const events = await get(state.ctx.T + '/calendar');
  events.sort((a, b) => a.first_day.localeCompare(b.first_day));
  replace($('calendar'), events.length ? events.map((e) => h('tr', { dataset: { event: e.id } },
    h('td', {}, e.name), h('td', {}, e.first_day), h('td', {}, e.last_day), h('td.num', {}, `× ${e.multiplier}`),
    h('td', {}, queueName(e.queue)),
    h('td', {}, h('button.danger', { type: 'button', 'aria-label': `Delete ${e.name}`, onclick: () => deleteEvent(e) }, 'Delete'))))
    : h('tr', {}, h('td.muted', { colspan: 6 }, 'No events: the forecast follows the history alone.')));
}

async function addEvent(ev) {
  ev.preventDefault();
  $('calendar-error').textContent = '';
  const body = { name: $('ev-name').value.trim(), first_day: $('ev-first').value, last_day: $('ev-last').value,
    multiplier: Number($('ev-mult').value), queue: Number($('ev-queue').value) };
  try {
    await post(state.ctx.T + '/calendar', body);
    toast(`Event "${body.name}" added`);
    $('calendar-form').reset();
    await Promise.all([loadCalendar(), loadForecast()]);
  } catch (e) {
    $('calendar-error').textContent = e.message;
  }
}

async function deleteEvent(e) {
  try {
    await del(`${state.ctx.T}/calendar/${e.id}`);
    toast(`Event "${e.name}" deleted`);
    await Promise.all([loadCalendar(), loadForecast()]);
  } catch (err) {
    toast(err.message);
  }
}

// ---- schedules -----------------------------------------------------------------------------

async function loadSchedules() {
  const list = await get(state.ctx.T + '/schedules');
  list.sort((a, b) => b.id - a.id);
  replace($('schedules'), list.length ? list.map((x) => h('tr', { dataset: { schedule: x.id } },
    h('td', {}, h('a', { href: `${API}${state.ctx.T}/schedules/${x.id}?format=csv` }, x.name || `Schedule ${x.id}`)),
    h('td', {}, x.week_start),
    h('td', {}, h(`span.pill.${x.state === 'published' ? 'available' : x.state === 'draft' ? 'busy' : 'offline'}`, {}, x.state)),
    h('td.num', {}, x.agents), h('td.num', {}, x.shifts),
    h('td.num', { class: x.under_total > 0 ? 'num bad' : 'num' }, x.under_total),
    h('td.num', {}, x.over_total),
    h('td.num', {}, Math.round(x.labour_cost)),
    h('td', {}, h('div.row', {},
      h('a', { href: `${API}${state.ctx.T}/schedules/${x.id}?format=coverage_csv` }, 'Coverage CSV'),
      x.state === 'draft' ? h('button.primary', { type: 'button', 'aria-label': `Publish ${x.name || x.id}`, onclick: () => publish(x) }, 'Publish') : null))))
    : h('tr', {}, h('td.muted', { colspan: 9 }, 'No schedules yet: they are made through the API (POST /schedules, see docs/wfm.md).')));
}

async function publish(x) {
  try {
    await post(`${state.ctx.T}/schedules/${x.id}/publish`);
    toast(`${x.name || 'Schedule'} published`);
  } catch (e) {
    toast(e.message);
  }
  await Promise.all([loadSchedules(), loadAdherence()]);
}

// ---- adherence -----------------------------------------------------------------------------

const pct = (x) => (x === null || x === undefined ? '—' : `${Math.round(x)} %`);
const minutes = (m) => `${Math.floor(m / 60)} h ${String(Math.round(m % 60)).padStart(2, '0')}`;

async function loadAdherence() {
  const [day_, live] = await Promise.all([get(state.ctx.T + '/adherence'), get(state.ctx.T + '/adherence/live')]);
  $('adherence-title').textContent = `Adherence on ${day_.date}`;
  replace($('adherence'), day_.agents.length ? day_.agents.map((a) => h('tr', { dataset: { agent: a.login } },
    h('td', {}, a.name || a.login), h('td.num', {}, minutes(a.scheduled_min)), h('td.num', {}, minutes(a.in_adherence_min)),
    h('td.num', {}, minutes(a.worked_min)), h('td.num', {}, pct(a.adherence_pct)), h('td.num', {}, pct(a.conformance_pct))))
    : h('tr', {}, h('td.muted', { colspan: 6 }, 'Nobody is scheduled today (no published schedule covers it).')));
  replace($('adherence-live'), live.agents.length ? live.agents.map((a) => h('li', { dataset: { agent: a.login } },
    `${a.name || a.login}: scheduled ${a.scheduled}, actually ${a.actual}${a.reason ? ' (' + a.reason + ')' : ''} for ${Math.round(a.minutes)} min`))
    : h('li.muted', {}, `Everyone matches their schedule (grace ${live.grace_min} min).`));
}

main().catch((e) => { if (e.message !== 'role' && e.message !== 'no tenant') console.error(e); });
