// Calls, for supervisors: the live calls with listen / whisper / barge (docs/api.md "Monitor":
// Homeline rings the supervisor's phone), the tenant's call recordings (played in the page from the download
// route, the session cookie going along, or downloaded) and the call detail records with
// filters, paging and the CSV export of the same filters (docs/api.md "Call detail records",
// "Recordings"). Plain REST reads: records change when calls end, "Refresh" and "Show" read
// them again. The live calls follow the event WebSocket: an agent's state changing (a call
// starting or ending) reads the list again, and a call's own changes (hold, recording pause,
// a monitor ringing, joining, changing mode or ending, whoever made them) come as
// "interaction" frames that update its row. No polling.
import { get, post, put, del } from './lib/api.js';
import { h, replace, clock } from './lib/dom.js';
import { EventSocket } from './lib/socket.js';
import { startPage } from './lib/session.js';

const $ = (id) => document.getElementById(id);
const LIMIT = 50;
const state = { ctx: null, live: [], frames: new Map(), queues: new Map(), agents: new Map(), offset: 0, total: 0, ixQueue: new Map(), recByIx: new Map() };

async function main() {
  state.ctx = await startPage('calls', 'supervisor');
  const { T } = state.ctx;
  // Every member (supervisors too: they monitor) by id, for names.
  const [queues, users] = await Promise.all([get(T + '/queues'), get(T + '/users')]);
  for (const q of queues) state.queues.set(q.id, q);
  for (const u of users) state.agents.set(u.id, u);
  const agents = users.filter((u) => u.role === 'agent' || Object.values(u.capacity || {}).some(Boolean));
  replace($('cdr-queue'), h('option', { value: '' }, 'Every queue'), queues.map((q) => h('option', { value: q.id }, q.name)));
  replace($('cdr-agent'), h('option', { value: '' }, 'Every agent'), agents.map((a) => h('option', { value: a.id }, a.name || a.login)));
  $('cdr-filter').addEventListener('submit', (ev) => { ev.preventDefault(); state.offset = 0; loadCdrs(); });
  for (const id of ['cdr-from', 'cdr-to', 'cdr-queue', 'cdr-agent']) $(id).addEventListener('change', updateCsvLink);
  $('cdr-prev').addEventListener('click', () => { state.offset = Math.max(0, state.offset - LIMIT); loadCdrs(); });
  $('cdr-next').addEventListener('click', () => { state.offset += LIMIT; loadCdrs(); });
  $('recordings-reload').addEventListener('click', () => loadRecordings());
  updateCsvLink();
  new EventSocket({
    url: () => `/api/v1/events?tenant=${encodeURIComponent(state.ctx.tenant.slug)}`,
    onOpen: (hello) => { renderMyPhone(hello.agent); loadLive(); },
    onMessage: (m) => {
      if (m.type === 'interaction') {
        state.frames.set(m.interaction.id, (state.frames.get(m.interaction.id) || 0) + 1);
        return onCall(m.interaction);
      }
      if (m.type !== 'agent') return;
      if (m.agent.user === state.ctx.me.user.id) renderMyPhone(m.agent);
      loadLiveSoon();
    },
  });
  setInterval(tickLive, 1000);
  await loadRecordings();
  await loadCdrs();
}

// ---- live calls and monitoring -------------------------------------------------------------

const MODES = [['listen', 'Listen'], ['whisper', 'Whisper'], ['barge', 'Barge']];

function renderMyPhone(a) {
  const el = $('my-phone');
  const registered = a && a.phone === 'registered';
  el.textContent = registered ? 'Your phone is registered' : 'Your phone is not registered';
  el.className = 'pill ' + (registered ? 'available' : 'offline');
  el.dataset.phone = registered ? 'registered' : 'unregistered';
}

let liveTimer = 0;
function loadLiveSoon() {
  clearTimeout(liveTimer);
  liveTimer = setTimeout(loadLive, 150);
}

let liveLoading = null;
async function loadLive() {
  if (liveLoading) return liveLoading.then(() => loadLiveSoon());
  liveLoading = (async () => {
    try {
      const live = await get(state.ctx.T + '/interactions?live=1');
      state.live = live.filter((ix) => ix.channel === 'voice' && ix.state === 'connected');
      renderLive();
    } catch { /* the banner tells when the server is away */ }
  })();
  await liveLoading;
  liveLoading = null;
}

// A pushed view of one interaction: a live call's row follows it; one no longer connected
// leaves the list.
function onCall(ix) {
  if (ix.channel !== 'voice') return;
  const live = (state.live || []).filter((x) => x.id !== ix.id);
  if (ix.state === 'connected') live.push(ix);
  live.sort((a, b) => a.id - b.id);
  state.live = live;
  renderLive();
}

function renderLive() {
  const calls = state.live || [];
  $('no-live').hidden = calls.length > 0;
  replace($('live'), calls.map((ix) => {
    const m = ix.monitor;
    const mine = m && m.supervisor === state.ctx.me.user.id;
    let cell;
    if (!m) {
      cell = h('div.row', {}, MODES.map(([mode, label]) =>
        h('button', { type: 'button', onclick: () => monitor(ix.id, 'POST', { mode }) }, label)));
    } else if (mine) {
      cell = h('div.row', {},
        h('span.pill.' + (m.state === 'joined' ? 'busy' : 'reserved'), { role: 'status' }, m.state === 'joined' ? `${m.mode}` : `${m.mode}: ringing your phone`),
        MODES.map(([mode, label]) => h('button', { type: 'button', 'aria-pressed': String(m.mode === mode), disabled: m.mode === mode,
          onclick: () => monitor(ix.id, 'PUT', { mode }) }, label)),
        h('button.danger', { type: 'button', onclick: () => monitor(ix.id, 'DELETE') }, 'Stop'));
    } else {
      // Any supervisor may end another's monitor (docs/api.md "Monitor").
      cell = h('div.row', {}, h('span.muted', {}, `${m.mode} by ${agentName(m.supervisor)}`),
        h('button.danger', { type: 'button', onclick: () => monitor(ix.id, 'DELETE') }, 'Stop'));
    }
    const notes = [ix.on_hold ? 'on hold' : '', ix.recording_paused ? 'recording paused' : ''].filter(Boolean);
    return h('tr', { dataset: { interaction: ix.id, monitor: m ? `${m.mode}:${m.state}` : '', hold: String(!!ix.on_hold), recordingPaused: String(!!ix.recording_paused) } },
      h('td', {}, `#${ix.id}`),
      h('td', {}, queueName(ix.queue)),
      h('td', {}, agentName(ix.agent)),
      h('td', {}, ix.customer.name || ix.customer.phone || '—'),
      h('td.num.talking', { dataset: { since: ix.answered_at || '' } }, ''),
      h('td.call-state', {}, notes.length ? notes.join(', ') : (ix.recorded ? 'recorded' : '—')),
      h('td', {}, cell));
  }));
  tickLive();
}

function tickLive() {
  for (const td of document.querySelectorAll('td.talking')) {
    if (td.dataset.since) td.textContent = clock((Date.now() - Number(td.dataset.since)) / 1000);
  }
}

async function monitor(id, method, body) {
  $('live-error').textContent = '';
  const path = `${state.ctx.T}/interactions/${id}/monitor`;
  const frames = state.frames.get(id) || 0;
  try {
    const ix = await (method === 'POST' ? post(path, body) : method === 'PUT' ? put(path, body) : del(path));
    // The answer is the call's view when the request was served; a frame pushed since is at
    // least as new (the phone may have answered meanwhile), so the answer then stays unused.
    if ((state.frames.get(id) || 0) === frames) onCall(ix);
  } catch (e) {
    $('live-error').textContent = e.message;
  }
}

const queueName = (id) => (id ? state.queues.get(id)?.name || `queue ${id}` : '—');
const agentName = (id) => (id ? state.agents.get(id)?.name || state.agents.get(id)?.login || `agent ${id}` : '—');
const when = (ms) => (ms ? new Date(ms).toLocaleString([], { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', second: '2-digit' }) : '—');

// ---- recordings ----------------------------------------------------------------------------

async function loadRecordings() {
  $('recordings-error').textContent = '';
  try {
    const list = await get(state.ctx.T + '/recordings');
    // Queue and agent come from the interaction (one read per call shown, at most 50).
    const shown = list.sort((a, b) => b.started - a.started).slice(0, 50);
    await Promise.all(shown.filter((r) => !state.ixQueue.has(r.interaction)).map(async (r) => {
      try { state.ixQueue.set(r.interaction, await get(`${state.ctx.T}/interactions/${r.interaction}`)); } catch { /* shown without */ }
    }));
    state.recByIx = new Map(list.map((r) => [r.interaction, r]));
    renderRecordings(shown);
  } catch (e) {
    $('recordings-error').textContent = e.message;
  }
}

function renderRecordings(list) {
  $('no-recordings').hidden = list.length > 0;
  replace($('recordings'), list.map((r) => {
    const ix = state.ixQueue.get(r.interaction) || {};
    const file = `/api/v1${state.ctx.T}/recordings/${r.id}/file`;
    const paused = r.paused.reduce((s, p) => s + ((p.end || Date.now()) - p.start), 0);
    return h('tr', { dataset: { recording: r.id, interaction: r.interaction } },
      h('td', {}, `#${r.interaction}`),
      h('td', {}, queueName(ix.queue)),
      h('td', {}, agentName(ix.agent)),
      h('td', {}, when(r.started)),
      h('td.num', {}, r.ended ? clock((r.ended - r.started) / 1000) : h('span.pill.busy', {}, 'recording')),
      h('td', {}, r.paused.length ? `${r.paused.length}× (${clock(paused / 1000)})` : '—'),
      // preload="none": nothing is fetched until the supervisor presses play.
      h('td', {}, r.ended ? h('audio', { controls: true, preload: 'none', src: file, 'aria-label': `Recording of call ${r.interaction}` }) : null),
      h('td', {}, r.ended ? h('a', { href: file, download: `call-${r.interaction}-${r.id}.wav` }, 'Download') : null));
  }));
}

// ---- call detail records -------------------------------------------------------------------

function filters() {
  const p = new URLSearchParams();
  const from = $('cdr-from').value, to = $('cdr-to').value;
  // datetime-local is the browser's local time; the API takes milliseconds since the epoch.
  if (from) p.set('from', String(new Date(from).getTime()));
  if (to) p.set('to', String(new Date(to).getTime()));
  if ($('cdr-queue').value) p.set('queue', $('cdr-queue').value);
  if ($('cdr-agent').value) p.set('agent', $('cdr-agent').value);
  return p;
}

function updateCsvLink() {
  const q = filters().toString();
  $('cdr-csv').href = `/api/v1${state.ctx.T}/cdrs.csv${q ? '?' + q : ''}`;
}

async function loadCdrs() {
  $('cdr-error').textContent = '';
  updateCsvLink();
  const p = filters();
  p.set('offset', String(state.offset));
  p.set('limit', String(LIMIT));
  try {
    const r = await get(`${state.ctx.T}/cdrs?${p}`);
    state.total = r.total;
    $('cdr-range').textContent = `${when(r.from)} – ${when(r.to)}: ${r.total} call${r.total === 1 ? '' : 's'}` +
      (r.total > r.calls.length ? `, showing ${r.offset + 1}–${r.offset + r.calls.length}` : '');
    $('cdr-prev').disabled = r.offset === 0;
    $('cdr-next').disabled = r.offset + r.calls.length >= r.total;
    replace($('cdrs'), r.calls.length ? r.calls.map(cdrRow) : h('tr', {}, h('td.muted', { colspan: 10 }, 'No calls in this range.')));
  } catch (e) {
    $('cdr-error').textContent = e.message;
  }
}

function cdrRow(c) {
  const agentLeg = c.legs.find((l) => l.role === 'agent' && l.answered);
  const talk = agentLeg && agentLeg.ended ? clock((agentLeg.ended - agentLeg.answered) / 1000) : '—';
  return h('tr', { dataset: { call: c.call, interaction: c.interaction }, title: c.legs.map((l) => `${l.role}: ${l.result} (${l.cause || '—'})`).join('\n') },
    h('td', {}, when(c.started)),
    h('td', {}, c.from),
    h('td', {}, c.to),
    h('td', {}, queueName(c.queue)),
    h('td', {}, agentName(c.agent)),
    h('td', {}, h(`span.pill.${c.result === 'answered' ? 'available' : c.result === 'abandoned' ? 'break' : 'offline'}`, {}, c.result.replaceAll('_', ' '))),
    h('td', {}, c.ended ? c.hung_up_by : 'live'),
    h('td.num', {}, talk),
    h('td.num', {}, c.legs.length),
    h('td', {}, recordingLink(c.interaction)));
}

// The call's recording, played where it is listed.
function recordingLink(ix) {
  const r = state.recByIx.get(ix);
  if (!r || !r.ended) return null;
  return h('button', { type: 'button', 'aria-label': `Play the recording of call ${ix}`, onclick: () => {
    const row = document.querySelector(`#recordings tr[data-recording="${r.id}"]`);
    const audio = row && row.querySelector('audio');
    if (!audio) return;
    row.scrollIntoView({ block: 'center' });
    audio.play().catch(() => {});
  } }, 'Play');
}

main().catch((e) => { if (e.message !== 'role' && e.message !== 'no tenant') console.error(e); });
