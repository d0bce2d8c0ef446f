// The supervisor wallboard: queue tiles and agents pushed over the event WebSocket (no polling),
// today's charts per 30 minutes (fetched again when a push shows that today's counts moved),
// whether each agent's phone is registered, and two actions: set an agent's state,
// force-complete a wrap-up.
import { get, post, put } from './lib/api.js';
import { h, replace, clock, percent, toast } from './lib/dom.js';
import { EventSocket } from './lib/socket.js';
import { startPage } from './lib/session.js';

const $ = (id) => document.getElementById(id);
const ACTIVITY = { offline: 'Offline', available: 'Available', break: 'Break', missed: 'Missed', reserved: 'Reserved', busy: 'Busy', wrap_up: 'Wrap-up' };
const ORDER = ['busy', 'reserved', 'wrap_up', 'available', 'missed', 'break', 'offline'];

const state = { ctx: null, agents: new Map(), queues: [], skew: 0, totals: '', breakReasons: [], intervals: null };

async function main() {
  state.ctx = await startPage('wallboard', 'supervisor');
  const tenant = await get(state.ctx.T);
  state.breakReasons = tenant.settings.break_reasons;
  new EventSocket({
    url: () => `/api/v1/events?tenant=${encodeURIComponent(state.ctx.tenant.slug)}`,
    onOpen: resync,
    onMessage,
  });
  setInterval(tickAgents, 1000);
}

async function resync() {
  const agents = await get(state.ctx.T + '/agents');
  state.agents.clear();
  for (const a of agents) setAgent(a, false);
  renderAgents();
  loadIntervals();
}

function onMessage(m) {
  if (m.type === 'queues') {
    state.queues = m.queues;
    renderTiles();
    // The charts change only when today's counts do: fetch them again then, not on a timer.
    const totals = m.queues.map((q) => [q.entered, q.answered, q.abandoned, q.handled].join(',')).join(';');
    if (totals !== state.totals) {
      state.totals = totals;
      loadIntervals();
    }
  } else if (m.type === 'agent') {
    setAgent(m.agent, true);
  }
}

// ---- queues --------------------------------------------------------------------------------

function figure(k, v, cls) {
  return h(`div.figure${cls ? '.' + cls : ''}`, {}, h('div.v', {}, v), h('div.k', {}, k));
}

function renderTiles() {
  replace($('tiles'), state.queues.map((q) => {
    const slBad = q.answered + q.abandoned > 0 && q.service_level < q.sl_target;
    const staffed = (q.agents.available || 0) + (q.agents.busy || 0) + (q.agents.reserved || 0) + (q.agents.wrap_up || 0);
    return h('article.panel.tile', { 'aria-label': `Queue ${q.name}`, dataset: { queue: q.name } },
      h('h2', {}, q.name, h('span.pill' + (q.open ? '.available' : '.offline'), {}, q.open ? 'open' : 'closed')),
      h('div.figures', {},
        figure('Waiting', q.waiting, q.waiting > 0 && !q.agents.available ? 'bad' : '', 'waiting'),
        figure('Longest wait', clock(q.longest_wait_s), q.longest_wait_s > q.sl_threshold_s ? 'bad' : ''),
        figure(`Service level (${percent(q.sl_target)} in ${q.sl_threshold_s} s)`, percent(q.service_level), slBad ? 'bad' : 'good'),
        figure('ASA', clock(q.asa_s)),
        figure('Abandoned', percent(q.abandon_rate), q.abandon_rate > 0.05 ? 'bad' : ''),
        figure('Handled', q.handled)),
      h('div.meta.muted', {}, `Agents: ${q.agents.available || 0} available, ${staffed} staffed, ${q.agents.break || 0} on break`));
  }));
  for (const el of document.querySelectorAll('.tile')) {
    const q = state.queues.find((x) => x.name === el.dataset.queue);
    el.querySelectorAll('.figure')[2].dataset.value = String(q.service_level);
    el.querySelectorAll('.figure')[5].dataset.value = String(q.handled);
  }
}

// ---- agents --------------------------------------------------------------------------------

function setAgent(a, render) {
  state.agents.set(a.user, { ...a, at: Date.now() });
  if (render) renderAgents();
}

function renderAgents() {
  const list = [...state.agents.values()].sort((x, y) =>
    ORDER.indexOf(x.activity) - ORDER.indexOf(y.activity) || (x.name || x.login).localeCompare(y.name || y.login));
  replace($('agents'), list.map((a) => {
    const select = h('select', { 'aria-label': `Set state of ${a.name || a.login}` },
      h('option', { value: '' }, 'Set state…'),
      h('option', { value: 'available' }, 'Available'),
      state.breakReasons.map((r) => h('option', { value: 'break:' + r }, `Break: ${r}`)),
      h('option', { value: 'offline' }, 'Log out'));
    select.addEventListener('change', () => setState(a, select.value));
    const actions = [select];
    if (a.activity === 'wrap_up')
      actions.push(h('button', { type: 'button', onclick: () => forceComplete(a) }, 'Complete wrap-up'));
    return h('tr', { dataset: { agent: a.login } },
      h('td', {}, a.name || a.login),
      h('td', {}, h(`span.pill.${a.activity}`, {}, ACTIVITY[a.activity] || a.activity), a.activity === 'break' && a.reason ? ` ${a.reason}` : ''),
      h('td.num.time', { dataset: { user: a.user } }, timeIn(a)),
      h('td.num', {}, a.contacts_today),
      // Without a registered phone an agent gets no calls (docs/api.md "Phones").
      h('td.phone', { dataset: { phone: a.phone || '' } }, a.phone === 'registered' ? 'registered' : '—'),
      h('td', {}, h('div.row', {}, actions)));
  }));
}

function timeIn(a) {
  return a.activity === 'offline' && !a.activity_since ? '—' : clock(a.time_in_state_s + (Date.now() - a.at) / 1000);
}

function tickAgents() {
  for (const td of document.querySelectorAll('td.time')) {
    const a = state.agents.get(Number(td.dataset.user));
    if (a) td.textContent = timeIn(a);
  }
}

async function setState(a, value) {
  if (!value) return;
  const [s, reason] = value.split(':');
  try {
    setAgent(await put(`${state.ctx.T}/agents/${a.user}/presence`, reason ? { state: s, reason } : { state: s }), true);
    toast(`${a.name || a.login}: ${s}${reason ? ' (' + reason + ')' : ''}`);
  } catch (e) {
    toast(e.message);
    renderAgents();
  }
}

async function forceComplete(a) {
  try {
    const live = await get(state.ctx.T + '/interactions?live=1');
    const wraps = live.filter((ix) => ix.agent === a.user && ix.state === 'wrap_up');
    for (const ix of wraps) await post(`${state.ctx.T}/interactions/${ix.id}/wrapup/complete`);
    toast(`Wrap-up completed for ${a.name || a.login}`);
  } catch (e) {
    toast(e.message);
  }
}

// ---- charts --------------------------------------------------------------------------------

let loading = null;
async function loadIntervals() {
  if (loading) return;
  loading = get(state.ctx.T + '/stats/intervals');
  try {
    state.intervals = (await loading).intervals;
    renderCharts();
  } catch { /* the banner tells */ } finally {
    loading = null;
  }
}

const SVG = 'http://www.w3.org/2000/svg';
function s(tag, attrs, text) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (text !== undefined) el.textContent = text;
  return el;
}

// From 06:00 (or the first interval with contacts, if earlier) to now.
function window_() {
  const rows = state.intervals || [];
  let first = rows.findIndex((r) => r.entered > 0);
  if (first < 0 || first > 12) first = Math.min(12, Math.max(0, rows.length - 8));
  return rows.slice(first);
}

function hhmm(ms) {
  const d = new Date(ms);
  return `${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}`;
}

function renderCharts() {
  const rows = window_();
  const W = 600, H = 180, L = 30, B = 20, n = Math.max(rows.length, 1), bw = (W - L) / n;
  const max = Math.max(1, ...rows.map((r) => r.entered));
  const vol = s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': `Contacts per 30 minutes (UTC): ${rows.map((r) => `${hhmm(r.start)} ${r.entered}`).join(', ')}` });
  vol.append(s('line', { x1: L, y1: H - B, x2: W, y2: H - B, class: 'axis' }), s('text', { x: 0, y: 12 }, String(max)), s('text', { x: 0, y: H - B }, '0'));
  rows.forEach((r, i) => {
    const bh = ((H - B - 10) * r.entered) / max;
    const bar = s('rect', { x: L + i * bw + 2, y: H - B - bh, width: Math.max(1, bw - 4), height: bh, class: 'bar' });
    bar.append(s('title', {}, `${hhmm(r.start)}: ${r.entered} contacts, ${r.answered} answered, ${r.abandoned} abandoned`));
    vol.append(bar);
    if (i % Math.ceil(n / 8) === 0) vol.append(s('text', { x: L + i * bw, y: H - 4 }, hhmm(r.start)));
  });
  replace($('chart-volume'), vol);

  const target = state.queues.length ? state.queues[0].sl_target : 0.8;
  const y = (v) => 10 + (H - B - 10) * (1 - v);
  const sl = s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': `Service level per 30 minutes (UTC): ${rows.filter((r) => r.answered + r.abandoned > 0).map((r) => `${hhmm(r.start)} ${Math.round(r.service_level * 100)} %`).join(', ') || 'no contacts yet'}` });
  sl.append(s('line', { x1: L, y1: H - B, x2: W, y2: H - B, class: 'axis' }),
    s('line', { x1: L, y1: y(target), x2: W, y2: y(target), class: 'target' }),
    s('text', { x: 0, y: 14 }, '100%'), s('text', { x: 0, y: y(target) + 4 }, percent(target).replace(' ', '')), s('text', { x: 0, y: H - B }, '0'));
  const pts = rows.map((r, i) => (r.answered + r.abandoned > 0 ? [L + i * bw + bw / 2, y(r.service_level)] : null)).filter(Boolean);
  if (pts.length) sl.append(s('polyline', { points: pts.map((p) => p.join(',')).join(' '), class: 'line' }));
  for (const [px, py] of pts) sl.append(s('circle', { cx: px, cy: py, r: 3, class: 'dot' }));
  rows.forEach((r, i) => { if (i % Math.ceil(n / 8) === 0) sl.append(s('text', { x: L + i * bw, y: H - 4 }, hhmm(r.start))); });
  replace($('chart-sl'), sl);
  $('chart-volume').dataset.total = String(rows.reduce((t, r) => t + r.entered, 0));
}

main().catch((e) => { if (e.message !== 'role' && e.message !== 'no tenant') console.error(e); });
