// The agent desktop: presence, offers (countdown, sound, desktop notification), the contacts in
// hand side by side (chats with their transcript; calls with hold, transfer, hang-up and
// recording pause), the phone's registration, the customer's earlier contacts, wrap-up, and
// "my day". Live state comes over the event WebSocket; the REST API is used for actions and
// for a fresh picture after every (re)connect.
import { get, post, put, ApiError } from './lib/api.js';
import { h, replace, clock, timeOfDay, toast } from './lib/dom.js';
import { EventSocket } from './lib/socket.js';
import { startPage } from './lib/session.js';

const $ = (id) => document.getElementById(id);
const ACTIVITY = { offline: 'Offline', available: 'Available', break: 'On break', missed: 'Missed offers', reserved: 'Offer pending', busy: 'Busy', wrap_up: 'Wrap-up' };

const state = {
  ctx: null,
  agent: null,
  skew: 0,               // server clock − local clock, ms
  queues: new Map(),
  dispositions: [],
  capacity: {},
  offers: new Map(),     // id → {ix, expiresAt (local ms), el}
  work: new Map(),       // id → {ix, el, parts}
  chats: new Map(),      // id → {messages: Map(seq → msg), pending: Map(client_id → text), typingUntil}
  handledToday: [],      // own completed contacts today, for AHT
  stage: new Map(),      // id → furthest STAGE seen
  frames: new Map(),     // id → interaction frames received, to tell a stale REST answer
};
let socket = null;
let audio = null;

// ---- start ---------------------------------------------------------------------------------

async function main() {
  state.ctx = await startPage('desktop', 'agent');
  const { T } = state.ctx;
  const [tenant, queues, dispositions, member] = await Promise.all([
    get(T), get(T + '/queues'), get(T + '/dispositions'), get(`${T}/users/${state.ctx.me.user.id}`).catch(() => null),
  ]);
  for (const q of queues) state.queues.set(q.id, q);
  state.dispositions = dispositions;
  state.capacity = (member && member.capacity) || {};
  replace($('break-reason'), tenant.settings.break_reasons.map((r) => h('option', { value: r }, r)));
  // The buttons are disabled in the page until they do something.
  for (const b of document.querySelectorAll('[data-state]')) {
    b.addEventListener('click', () => setPresence(b.dataset.state));
    b.disabled = false;
  }
  setupNotifications();
  setupDial();
  document.addEventListener('keydown', onKey);
  socket = new EventSocket({
    url: () => `/api/v1/events?tenant=${encodeURIComponent(state.ctx.tenant.slug)}&chat_since=${chatSince()}`,
    onOpen: (hello) => resync(hello),
    onMessage,
  });
  setInterval(tick, 250);
}

function chatSince() {
  const pairs = [];
  for (const [id, c] of state.chats) {
    const last = c.messages.size ? Math.max(...c.messages.keys()) : 0;
    if (last) pairs.push(`${id}:${last}`);
  }
  return encodeURIComponent(pairs.join(','));
}

// After every (re)connect: the server's view of our work replaces ours.
async function resync(hello) {
  setAgent(hello.agent);
  const { T } = state.ctx;
  const live = await get(T + '/interactions?live=1');
  const mine = live.filter((ix) => ix.agent === state.ctx.me.user.id);
  const ids = new Set(mine.map((ix) => ix.id));
  for (const id of [...state.offers.keys()]) if (!ids.has(id)) removeOffer(id);
  for (const id of [...state.work.keys()]) if (!ids.has(id)) removeWork(id);
  for (const ix of mine) onInteraction(ix, null);
  for (const [client_id, p] of pendingSends()) sendChat(p.id, p.text, client_id);
  loadMyDay();
  loadMyShifts();
}

// ---- messages ------------------------------------------------------------------------------

function onMessage(m) {
  switch (m.type) {
    case 'agent': if (m.agent.user === state.ctx.me.user.id) setAgent(m.agent); break;
    case 'offer': onInteraction(m.interaction, m.expires_in_ms); break;
    case 'interaction':
      state.frames.set(m.interaction.id, (state.frames.get(m.interaction.id) || 0) + 1);
      onInteraction(m.interaction, null);
      break;
    case 'offer_ended': removeOffer(m.interaction, m.result); break;
    case 'chat.message': onChatMessage(m.interaction, m.message); break;
    case 'chat.typing': onTyping(m.interaction, m.typing); break;
    case 'chat.ack': ackChat(m.interaction, m.client_id, m.seq); break;
    case 'error':
      if (m.client_id) failChat(m.interaction, m.client_id, m.error.message);
      break;
  }
}

// How far along an interaction is, for an agent's screen. Answers to REST calls and pushed
// frames may arrive in either order: an update older than what the screen shows is ignored, so
// a finished contact never comes back.
const STAGE = { queued: 0, offered: 1, connected: 2, wrap_up: 3, completed: 4, abandoned: 4, closed: 4 };

function onInteraction(ix, expiresInMs) {
  if (ix.agent !== state.ctx.me.user.id) {
    // No longer ours (rejected, expired, transferred, taken back): off the screen.
    state.stage.delete(ix.id);
    removeOffer(ix.id);
    removeWork(ix.id);
    return;
  }
  const stage = STAGE[ix.state] ?? 0;
  if ((state.stage.get(ix.id) ?? -1) > stage) return;
  state.stage.set(ix.id, stage);
  if (ix.state === 'offered') {
    const expiresAt = expiresInMs != null ? Date.now() + expiresInMs : ix.offer_expires_at - state.skew;
    addOffer(ix, expiresAt);
  } else {
    removeOffer(ix.id);
    if (ix.state === 'connected' || ix.state === 'wrap_up') upsertWork(ix);
    else {
      removeWork(ix.id);
      if (ix.state === 'completed') loadMyDay();
    }
  }
}

// ---- presence ------------------------------------------------------------------------------

function setAgent(a) {
  state.agent = a;
  state.agentAt = Date.now();
  // The server's clock at the moment it described the agent.
  if (a.activity_since) state.skew = a.activity_since + a.time_in_state_s * 1000 - Date.now();
  $('activity').textContent = ACTIVITY[a.activity] || a.activity;
  $('activity').className = 'state pill ' + a.activity;
  $('activity-reason').textContent = a.presence === 'break' && a.reason ? `Reason: ${a.reason}` : '';
  for (const b of document.querySelectorAll('[data-state]')) b.setAttribute('aria-pressed', String(b.dataset.state === a.presence));
  renderPhone(a);
  renderMyDay();
}

// The phone's registration (docs/api.md "Phones"): without one, no calls are offered.
function renderPhone(a) {
  const registered = a.phone === 'registered';
  const el = $('phone');
  if (el.dataset.phone === a.phone) return;
  el.dataset.phone = a.phone || '';
  el.textContent = registered ? 'Phone registered' : 'Phone not registered';
  el.className = 'pill ' + (registered ? 'available' : 'offline');
  $('phone-help').textContent = registered
    ? 'Calls ring your phone; answering it accepts the call.'
    : `No calls are offered to you until your softphone or desk phone registers (user name ${state.ctx.me.user.login}, your SIP password).`;
}

async function setPresence(presence) {
  ensureAudio();
  $('presence-error').textContent = '';
  const body = { state: presence };
  if (presence === 'break') body.reason = $('break-reason').value;
  try {
    setAgent(await put(state.ctx.T + '/me/presence', body));
  } catch (e) {
    $('presence-error').textContent = e.message;
  }
}

// Outbound calls (docs/api.md "Outbound calls"): Homeline rings the agent's phone first, then
// the number through the company's trunk; the call is an interaction of the chosen queue.
function setupDial() {
  replace($('dial-queue'), [...state.queues.values()].map((q) => h('option', { value: q.id }, q.name)));
  $('dial').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    $('dial-error').textContent = '';
    $('dial-go').disabled = true;
    try {
      const ix = await post(`${state.ctx.T}/calls`, { to: $('dial-to').value.trim(), queue: Number($('dial-queue').value) });
      $('dial-to').value = '';
      onInteraction(ix, null);
      announce(`Calling ${ix.customer.phone}: answer your phone.`);
    } catch (e) {
      $('dial-error').textContent = e.message;
    } finally {
      $('dial-go').disabled = false;
    }
  });
}

// ---- offers --------------------------------------------------------------------------------

function describe(ix) {
  const q = state.queues.get(ix.queue);
  return { who: ix.customer.name || ix.customer.email || ix.customer.phone || 'Customer', queue: q ? q.name : `queue ${ix.queue}` };
}

function addOffer(ix, expiresAt) {
  if (state.offers.has(ix.id)) {
    state.offers.get(ix.id).expiresAt = expiresAt;
    return;
  }
  const { who, queue } = describe(ix);
  const accept = h('button.primary', { type: 'button', onclick: () => acceptOffer(ix.id) }, 'Accept ', h('kbd', {}, 'A'));
  const reject = h('button', { type: 'button', onclick: () => rejectOffer(ix.id) }, 'Decline');
  const bar = h('div');
  const left = h('span.muted');
  const el = h('article.panel.offer', { 'aria-label': `Incoming ${ix.channel} from ${who}`, dataset: { offer: ix.id } },
    h('h3', {}, h('span.pill.busy', {}, ix.channel), ix.consult ? `A colleague consults you · ${queue}` : `Incoming ${ix.channel} · ${queue}`),
    h('div', {}, h('strong', {}, who), ix.subject ? ` — ${ix.subject}` : ''),
    h('div.bar', { role: 'progressbar', 'aria-label': 'Seconds left to accept', 'aria-valuemin': 0 }, bar),
    h('div.row', {}, accept, reject, h('span.spacer'), left));
  state.offers.set(ix.id, { ix, expiresAt, el, bar, left, total: Math.max(1, expiresAt - Date.now()) });
  $('offers').append(el);
  announce(`New ${ix.channel} offer from ${who}, ${queue}. Press A to accept.`);
  beep();
  notify(`Incoming ${ix.channel}`, `${who} · ${queue}`);
}

function removeOffer(id, result) {
  const o = state.offers.get(id);
  if (!o) return;
  o.el.remove();
  state.offers.delete(id);
  if (result === 'expired') announce('The offer expired and went back to the queue.');
}

async function acceptOffer(id) {
  try {
    const ix = await post(`${state.ctx.T}/interactions/${id}/accept`);
    onInteraction(ix, null);
  } catch (e) {
    removeOffer(id);
    toast(e.status === 409 ? 'That offer is no longer available.' : e.message);
  }
}

async function rejectOffer(id) {
  try { await post(`${state.ctx.T}/interactions/${id}/reject`); } catch { /* gone already */ }
  removeOffer(id);
}

// A short two-tone beep (WebAudio): no sound file to load. Browsers allow sound only after a
// gesture on the page, so the context is created on the first click.
function ensureAudio() {
  if (!audio && window.AudioContext) audio = new AudioContext();
  if (audio && audio.state === 'suspended') audio.resume();
}
document.addEventListener('pointerdown', ensureAudio, { once: true });

function beep() {
  if (!audio || audio.state !== 'running') return;
  const t = audio.currentTime;
  for (const [i, f] of [[0, 880], [1, 660]]) {
    const o = audio.createOscillator();
    const g = audio.createGain();
    o.frequency.value = f;
    g.gain.setValueAtTime(0.0001, t + i * 0.18);
    g.gain.exponentialRampToValueAtTime(0.2, t + i * 0.18 + 0.02);
    g.gain.exponentialRampToValueAtTime(0.0001, t + i * 0.18 + 0.16);
    o.connect(g).connect(audio.destination);
    o.start(t + i * 0.18);
    o.stop(t + i * 0.18 + 0.17);
  }
}

// Desktop notifications are asked for only when the agent clicks the button (never on load).
function setupNotifications() {
  const btn = $('notify-on');
  if (!('Notification' in window) || Notification.permission !== 'default') return;
  btn.hidden = false;
  btn.addEventListener('click', async () => {
    await Notification.requestPermission();
    btn.hidden = true;
  });
}

function notify(title, body) {
  if (!('Notification' in window) || Notification.permission !== 'granted' || document.hasFocus()) return;
  const n = new Notification(title, { body, tag: 'homeline-offer' });
  n.onclick = () => { window.focus(); n.close(); };
}

function announce(text) {
  $('announce').textContent = '';
  setTimeout(() => { $('announce').textContent = text; }, 50);
}

// ---- work in hand --------------------------------------------------------------------------

function upsertWork(ix) {
  let w = state.work.get(ix.id);
  if (!w) {
    w = buildCard(ix);
    state.work.set(ix.id, w);
    $('work').append(w.el);
    loadHistory(w);
  }
  const wasWrap = w.ix.state === 'wrap_up';
  w.ix = ix;
  syncCall(w, ix);
  renderCard(w);
  if (ix.state === 'wrap_up' && !wasWrap && w.el.contains(document.activeElement) === false && state.work.size === 1)
    w.parts.disposition.focus();
  renderCounts();
}

function removeWork(id) {
  const w = state.work.get(id);
  if (!w) return;
  w.el.remove();
  state.work.delete(id);
  state.chats.delete(id);
  renderCounts();
}

function renderCounts() {
  $('no-work').hidden = state.work.size > 0;
  const chats = [...state.work.values()].filter((w) => w.ix.channel === 'chat' && w.ix.state === 'connected').length;
  $('capacity').textContent = state.capacity.chat ? `Chats ${chats} of ${state.capacity.chat}` : '';
}

function buildCard(ix) {
  const { who, queue } = describe(ix);
  const parts = {};
  parts.state = h('span.pill');
  parts.timer = h('span.muted', { 'aria-label': 'Time' });
  parts.end = h('button', { type: 'button', onclick: () => endContact(ix.id) }, ix.channel === 'chat' ? 'End chat' : ix.channel === 'voice' ? 'Hang up' : 'End');
  const details = [ix.customer.email, ix.customer.phone].filter(Boolean).join(' · ');
  const body = [];
  if (ix.data && ix.data.text) body.push(h('p', {}, ix.data.text));
  if (ix.channel === 'chat') {
    parts.transcript = h('div.transcript', { role: 'log', 'aria-live': 'polite', 'aria-label': `Chat with ${who}` });
    parts.typing = h('div.typing');
    parts.input = h('textarea', { rows: 2, 'aria-label': `Message to ${who}`, placeholder: 'Write a reply… (Enter sends)' });
    parts.send = h('button.primary', { type: 'button' }, 'Send');
    parts.input.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' && !ev.shiftKey && !ev.ctrlKey) {
        ev.preventDefault();
        submitChat(ix.id);
      }
    });
    parts.input.addEventListener('input', () => typing(ix.id));
    parts.send.addEventListener('click', () => submitChat(ix.id));
    parts.compose = h('div.compose', {}, parts.input, parts.send);
    body.push(parts.transcript, parts.typing, parts.compose);
  }
  if (ix.channel === 'voice') body.push(buildCallControls(ix, parts));
  parts.disposition = h('select', { id: `disp-${ix.id}` },
    h('option', { value: '' }, 'Choose a disposition…'),
    state.dispositions.map((d) => h('option', { value: d.code }, d.name || d.code)));
  parts.notes = h('textarea', { id: `notes-${ix.id}`, rows: 2 });
  parts.wrapLeft = h('span.muted');
  parts.extend = h('button', { type: 'button', onclick: () => extendWrap(ix.id) }, '+30 s');
  parts.complete = h('button.primary', { type: 'button', onclick: () => completeWrap(ix.id) }, 'Complete');
  parts.wrapError = h('p.error', { role: 'alert' });
  parts.wrap = h('form.wrapup', { 'aria-label': 'Wrap-up' },
    h('div.row', {}, h('h3', {}, 'Wrap-up'), h('span.spacer'), parts.wrapLeft),
    h('label', { for: `disp-${ix.id}` }, 'Disposition'), parts.disposition,
    h('label', { for: `notes-${ix.id}` }, 'Notes'), parts.notes,
    parts.wrapError,
    h('div.row', {}, parts.complete, parts.extend));
  parts.wrap.addEventListener('submit', (ev) => { ev.preventDefault(); completeWrap(ix.id); });
  parts.wrap.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); completeWrap(ix.id); }
  });
  parts.history = h('div.history', {}, h('span.muted', {}, 'Earlier contacts: loading…'));
  const el = h('article.panel.card', { dataset: { interaction: ix.id, channel: ix.channel }, 'aria-label': `${ix.channel} with ${who}` },
    h('h3', {}, parts.kind = h('span.pill.busy'), who, h('span.spacer'), parts.state),
    h('div.meta', {}, `${queue}${details ? ' · ' + details : ''}`),
    ix.subject ? h('div', {}, h('strong', {}, ix.subject)) : null,
    body,
    h('div.row', {}, parts.end, h('span.spacer'), parts.timer),
    parts.wrap, parts.history);
  const w = { ix, el, parts, call: { on_hold: false, recorded: false, recording_paused: false } };
  syncCall(w, ix);
  if (ix.channel === 'chat') renderTranscript(w);
  return w;
}

// A live call's controls (docs/api.md "Calls"). Hold and recording pause are the server's
// state: every view of a call carries "on_hold", "recorded" and "recording_paused", and a
// change made anywhere (this page, another screen, the API) is pushed as an "interaction"
// frame, so a reload or a second screen shows the call as it is.
function buildCallControls(ix, parts) {
  parts.hold = h('button', { type: 'button', onclick: () => callAction(ix.id, parts.hold.dataset.next) }, 'Hold');
  parts.recording = h('button', { type: 'button', onclick: () => callAction(ix.id, parts.recording.dataset.next) }, 'Pause recording');
  parts.callState = h('span.pill', { role: 'status' });
  parts.transferTo = targetSelect(`transfer-${ix.id}`, ix, true);
  parts.transferNumber = h('input', { type: 'tel', inputmode: 'tel', id: `transfer-number-${ix.id}`, placeholder: '+1 555 0199', 'aria-label': 'Transfer to number', hidden: true });
  parts.transferTo.addEventListener('change', () => {
    parts.transferNumber.hidden = parts.transferTo.value !== 'number';
    if (!parts.transferNumber.hidden) parts.transferNumber.focus();
  });
  parts.transfer = h('button', { type: 'button', onclick: () => transferCall(ix.id) }, 'Transfer');
  // Warm transfer: the customer waits with music while the agent talks to the consultee.
  parts.consultTo = targetSelect(`consult-${ix.id}`, ix, false);
  parts.consult = h('button', { type: 'button', onclick: () => consultAction(ix.id, 'start') }, 'Consult');
  parts.consultNote = h('span', { role: 'status' });
  parts.consultComplete = h('button.primary', { type: 'button', onclick: () => consultAction(ix.id, 'complete') }, 'Complete transfer');
  parts.consultCancel = h('button', { type: 'button', onclick: () => consultAction(ix.id, 'cancel') }, 'Cancel consultation');
  parts.callError = h('p.error', { role: 'alert' });
  parts.idleRows = h('div.call-idle', {},
    h('div.row', {}, parts.hold, parts.recording, parts.callState),
    h('div.row', {}, h('label', { for: `transfer-${ix.id}` }, 'Transfer to'), parts.transferTo, parts.transferNumber, parts.transfer),
    h('div.row', {}, h('label', { for: `consult-${ix.id}` }, 'Consult'), parts.consultTo, parts.consult));
  parts.consultRows = h('div.call-consult', { hidden: true },
    h('div.row', {}, parts.consultNote),
    h('div.row', {}, parts.consultComplete, parts.consultCancel));
  parts.controls = h('div.call', { role: 'group', 'aria-label': 'Call controls' }, parts.idleRows, parts.consultRows, parts.callError);
  return parts.controls;
}

// Queues and colleagues (GET .../colleagues) to transfer to or consult; colleagues are read
// again each time the list is opened, since who is available changes.
function targetSelect(id, ix, withNumber) {
  const agents = h('optgroup', { label: 'Agents' });
  const select = h('select', { id },
    h('optgroup', { label: 'Queues' }, [...state.queues.values()].filter((q) => q.id !== ix.queue || !withNumber).map((q) => h('option', { value: `queue:${q.id}` }, q.name))),
    agents,
    withNumber ? h('option', { value: 'number' }, 'A phone number…') : null);
  const fill = async () => {
    try {
      const list = await get(`${state.ctx.T}/colleagues`);
      const chosen = select.value;
      replace(agents, list.map((a) => h('option', { value: `agent:${a.user}` },
        `${a.name || a.login} (${ACTIVITY[a.activity] || a.activity}${a.phone === 'registered' ? '' : ', no phone'})`)));
      if (chosen) select.value = chosen;
    } catch { /* the queues stay */ }
  };
  select.addEventListener('focus', fill);
  fill();
  return select;
}

// The call's state as the server describes it (views of other routes may leave it out).
function syncCall(w, ix) {
  for (const k of ['on_hold', 'recorded', 'recording_paused']) if (k in ix) w.call[k] = ix[k];
}

function renderCall(w) {
  const { parts, call } = w;
  if (!parts.controls) return;
  parts.controls.hidden = w.ix.state !== 'connected' || !!w.ix.consult;
  parts.hold.textContent = call.on_hold ? 'Resume' : 'Hold';
  parts.hold.dataset.next = call.on_hold ? 'resume' : 'hold';
  parts.hold.setAttribute('aria-pressed', String(call.on_hold));
  parts.recording.textContent = call.recording_paused ? 'Resume recording' : 'Pause recording';
  parts.recording.dataset.next = call.recording_paused ? 'recording/resume' : 'recording/pause';
  parts.recording.setAttribute('aria-pressed', String(call.recording_paused));
  parts.recording.hidden = !call.recorded;
  parts.idleRows.hidden = !!call.consult;
  parts.consultRows.hidden = !call.consult;
  if (call.consult) parts.consultNote.textContent = `Consulting ${call.consult.label}; the customer hears music.`;
  const notes = [call.on_hold ? 'On hold' : '', call.recording_paused ? 'Recording paused' : ''].filter(Boolean);
  parts.callState.textContent = notes.join(' · ');
  parts.callState.className = 'pill' + (notes.length ? ' break' : '');
  parts.callState.hidden = !notes.length;
}

async function callAction(id, action) {
  const w = state.work.get(id);
  if (!w) return;
  w.parts.callError.textContent = '';
  const button = action.startsWith('recording') ? w.parts.recording : w.parts.hold;
  // One request at a time per button: its answer and the pushed frame then agree.
  button.disabled = true;
  const frames = state.frames.get(id) || 0;
  try {
    const ix = await post(`${state.ctx.T}/interactions/${id}/${action}`);
    // A frame pushed since the request is at least as new as this answer.
    if ((state.frames.get(id) || 0) === frames) syncCall(w, ix);
    announce({ hold: 'Call on hold.', resume: 'Call resumed.', 'recording/pause': 'Recording paused.', 'recording/resume': 'Recording resumed.' }[action]);
  } catch (e) {
    w.parts.callError.textContent = e.message;
    if (e.status === 409 && /consultation is in progress/.test(e.message) && !w.call.consult) w.call.consult = { label: 'a colleague' };
    // Refused (changed meanwhile elsewhere): the server's view puts the buttons right.
    if (e.status === 409) {
      try { syncCall(w, await get(`${state.ctx.T}/interactions/${id}`)); } catch { /* the next frame will */ }
    }
  } finally {
    button.disabled = false;
    renderCall(w);
  }
}

// Consultation (docs/api.md "Calls"): start names an agent or a queue; complete hands the
// customer to the consultee (this agent wraps up); cancel goes back to the customer. The
// consultation's own progress (ringing, answered) is the consultee's interaction: the page
// learns it from the server's answers (409 "not answered yet", "no consultation in progress").
async function consultAction(id, what) {
  const w = state.work.get(id);
  if (!w) return;
  w.parts.callError.textContent = '';
  try {
    if (what === 'start') {
      const opt = w.parts.consultTo.selectedOptions[0];
      const [kind, target] = w.parts.consultTo.value.split(':');
      await post(`${state.ctx.T}/interactions/${id}/consult`, { [kind]: Number(target) });
      w.call.consult = { label: opt ? opt.textContent.replace(/ \(.*\)$/, '') : 'a colleague' };
      announce(`Consulting ${w.call.consult.label}. The customer is on hold.`);
    } else if (what === 'complete') {
      const ix = await post(`${state.ctx.T}/interactions/${id}/consult/complete`);
      w.call.consult = null;
      onInteraction(ix, null);
      announce('Call transferred.');
    } else {
      await post(`${state.ctx.T}/interactions/${id}/consult/cancel`);
      w.call.consult = null;
      announce('Back with the customer.');
    }
  } catch (e) {
    w.parts.callError.textContent = e.message;
    if (e.status === 409 && /no consultation in progress/.test(e.message)) w.call.consult = null;
    else if (e.status === 409 && /consultation is in progress/.test(e.message) && !w.call.consult) w.call.consult = { label: 'a colleague' };
  }
  renderCall(w);
}

async function transferCall(id) {
  const w = state.work.get(id);
  if (!w) return;
  w.parts.callError.textContent = '';
  const [kind, target] = w.parts.transferTo.value.split(':');
  const body = kind === 'number' ? { number: w.parts.transferNumber.value.trim() } : { [kind]: Number(target) };
  try {
    onInteraction(await post(`${state.ctx.T}/interactions/${id}/transfer`, body), null);
    announce(`Call transferred to ${kind === 'queue' ? state.queues.get(Number(target))?.name : kind === 'agent' ? 'your colleague' : body.number}.`);
  } catch (e) {
    w.parts.callError.textContent = e.message;
    if (e.status === 409 && /consultation is in progress/.test(e.message) && !w.call.consult) {
      w.call.consult = { label: 'a colleague' };
      renderCall(w);
    }
  }
}

function renderCard(w) {
  const { ix, parts } = w;
  // A consultation (warm transfer) is a call with a colleague until it is completed.
  parts.kind.textContent = ix.consult ? 'consultation' : ix.direction === 'outbound' ? 'outgoing call' : ix.channel;
  parts.state.textContent = ix.state === 'wrap_up' ? 'wrap-up' : ix.state;
  parts.state.className = 'pill ' + (ix.state === 'wrap_up' ? 'wrap_up' : 'busy');
  parts.end.hidden = ix.state !== 'connected';
  parts.wrap.hidden = ix.state !== 'wrap_up';
  renderCall(w);
  if (parts.compose) {
    parts.input.disabled = ix.state !== 'connected';
    parts.send.disabled = ix.state !== 'connected';
  }
}

async function endContact(id) {
  try { onInteraction(await post(`${state.ctx.T}/interactions/${id}/end`), null); } catch (e) { toast(e.message); }
}

async function completeWrap(id) {
  const w = state.work.get(id);
  if (!w) return;
  const body = { notes: w.parts.notes.value };
  if (w.parts.disposition.value) body.disposition = w.parts.disposition.value;
  else if (state.dispositions.length) {
    w.parts.wrapError.textContent = 'Choose a disposition.';
    w.parts.disposition.focus();
    return;
  }
  w.parts.complete.disabled = true;
  try {
    onInteraction(await post(`${state.ctx.T}/interactions/${id}/wrapup`, body), null);
    announce('Wrap-up complete.');
  } catch (e) {
    w.parts.wrapError.textContent = e.message;
  } finally {
    w.parts.complete.disabled = false;
  }
}

async function extendWrap(id) {
  try { onInteraction(await post(`${state.ctx.T}/interactions/${id}/wrapup/extend`, { seconds: 30 }), null); } catch (e) { toast(e.message); }
}

async function loadHistory(w) {
  try {
    const list = await get(`${state.ctx.T}/interactions/${w.ix.id}/history`);
    if (!list.length) return replace(w.parts.history, h('span.muted', {}, 'No earlier contacts from this customer.'));
    const name = (d) => (state.dispositions.find((x) => x.id === d) || {}).name;
    replace(w.parts.history, h('h3', {}, 'Earlier contacts'), h('ul', {}, list.map((ix) => h('li', {},
      `${new Date(ix.created_at).toLocaleDateString()} ${timeOfDay(ix.created_at)} · ${ix.channel} · ${ix.subject || describe(ix).queue} · ${ix.state}`,
      ix.disposition ? ` (${name(ix.disposition) || ix.disposition})` : '',
      ix.notes ? h('div.muted', {}, ix.notes) : null))));
  } catch {
    replace(w.parts.history);
  }
}

// ---- chat ----------------------------------------------------------------------------------

function chatOf(id) {
  let c = state.chats.get(id);
  if (!c) {
    c = { messages: new Map(), pending: new Map(), typingUntil: 0 };
    state.chats.set(id, c);
  }
  return c;
}

function onChatMessage(id, msg) {
  const c = chatOf(id);
  if (c.messages.has(msg.seq)) return;  // once, whatever a reconnect replays
  c.messages.set(msg.seq, msg);
  if (msg.client_id) c.pending.delete(msg.client_id);
  if (msg.sender === 'visitor') c.typingUntil = 0;
  const w = state.work.get(id);
  if (w) renderTranscript(w);
}

function ackChat(id, clientId) {
  const c = state.chats.get(id);
  if (c) c.pending.delete(clientId);
  const w = state.work.get(id);
  if (w) renderTranscript(w);
}

function failChat(id, clientId, message) {
  const c = state.chats.get(id);
  if (c) c.pending.delete(clientId);
  toast(`Message not sent: ${message}`);
  const w = state.work.get(id);
  if (w) renderTranscript(w);
}

function onTyping(id, typing) {
  chatOf(id).typingUntil = typing ? Date.now() + 6000 : 0;
}

function renderTranscript(w) {
  const c = chatOf(w.ix.id);
  const t = w.parts.transcript;
  const atBottom = t.scrollHeight - t.scrollTop - t.clientHeight < 40;
  const msgs = [...c.messages.values()].sort((a, b) => a.seq - b.seq);
  replace(t,
    msgs.map((m) => h(`div.msg.${m.sender}`, { dataset: { seq: m.seq } }, m.text)),
    [...c.pending.values()].map((p) => h('div.msg.agent.pending', { title: 'Sending…' }, p.text)));
  if (atBottom || msgs.length < 3) t.scrollTop = t.scrollHeight;
}

let clientCounter = 0;
function submitChat(id) {
  const w = state.work.get(id);
  const text = w.parts.input.value.trim();
  if (!text) return;
  w.parts.input.value = '';
  const clientId = `a${state.ctx.me.user.id}-${Date.now().toString(36)}-${++clientCounter}`;
  chatOf(id).pending.set(clientId, { id, text });
  renderTranscript(w);
  sendChat(id, text, clientId);
}

function pendingSends() {
  const out = [];
  for (const c of state.chats.values()) for (const [cid, p] of c.pending) out.push([cid, p]);
  return out;
}

// Over the socket when it is open, else by REST; a resend after a reconnect carries the same
// client_id, so the server stores it once.
async function sendChat(id, text, clientId) {
  if (socket.send({ type: 'chat.send', interaction: id, text, client_id: clientId })) return;
  try {
    const m = await post(`${state.ctx.T}/interactions/${id}/messages`, { text, client_id: clientId });
    onChatMessage(id, m);
  } catch (e) {
    if (!(e instanceof ApiError) || e.status === 0) return;  // stays pending; resent on reconnect
    failChat(id, clientId, e.message);
  }
}

let lastTyping = 0;
function typing(id) {
  if (Date.now() - lastTyping < 2000) return;
  lastTyping = Date.now();
  socket.send({ type: 'chat.typing', interaction: id, typing: true });
}

// ---- my day --------------------------------------------------------------------------------

async function loadMyDay() {
  try {
    const mine = await get(state.ctx.T + '/interactions');
    const midnight = new Date();
    midnight.setUTCHours(0, 0, 0, 0);
    state.handledToday = mine.filter((ix) => ix.state === 'completed' && ix.answered_at && ix.finished_at >= midnight.getTime());
  } catch { /* keep the last figures */ }
  renderMyDay();
}

function renderMyDay() {
  const a = state.agent;
  if (!a) return;
  const handled = state.handledToday;
  const aht = handled.length ? handled.reduce((s, ix) => s + (ix.finished_at - ix.answered_at), 0) / handled.length / 1000 : 0;
  // The server's figures include the current state up to when it sent them.
  const running = (Date.now() - state.agentAt) / 1000;
  const times = { ...a.time_in_activity_today_s };
  if (a.activity_since) times[a.activity] = (times[a.activity] || 0) + running;
  const rows = [
    ['Handled', String(handled.length), 'handled'],
    ['Accepted', String(a.contacts_today), 'accepted'],
    ['Average handle time', handled.length ? clock(aht) : '—', 'aht'],
    ['Talk time', clock(a.talk_today_s), 'talk'],
    ...['available', 'busy', 'wrap_up', 'break'].map((k) => [`Time ${ACTIVITY[k].toLowerCase()}`, clock(times[k] || 0), k]),
  ];
  replace($('myday'), rows.map(([k, v, id]) => [h('dt', {}, k), h('dd', { dataset: { stat: id } }, v)]));
}

// The next published shifts (docs/wfm.md), and the same as an iCalendar feed to subscribe to.
async function loadMyShifts() {
  $('myshifts-ics').href = `/api/v1${state.ctx.T}/me/shifts.ics`;
  try {
    const { shifts } = await get(state.ctx.T + '/me/shifts');
    const now = Date.now();
    const next = shifts.filter((x) => Date.parse(x.end) > now).slice(0, 5);
    const when = (iso) => new Date(iso).toLocaleString([], { weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
    replace($('myshifts'), next.length
      ? next.map((x) => h('li', {}, `${when(x.start)} – ${timeOfDay(Date.parse(x.end))}`,
        x.segments.some((g) => !g.paid) ? h('span.muted', {}, ` (${x.segments.filter((g) => !g.paid).map((g) => `${g.name} ${timeOfDay(Date.parse(g.start))}`).join(', ')})`) : null))
      : h('li.muted', {}, 'No published shifts ahead.'));
  } catch (e) {
    replace($('myshifts'), h('li.muted', {}, e.message));
  }
}

// ---- ticking -------------------------------------------------------------------------------

function tick() {
  const now = Date.now();
  if (state.agent) {
    $('activity-time').textContent = clock((now - state.agentAt) / 1000 + state.agent.time_in_state_s);
  }
  for (const o of state.offers.values()) {
    const left = Math.max(0, o.expiresAt - now);
    o.bar.style.width = `${(100 * left) / o.total}%`;
    o.bar.parentElement.setAttribute('aria-valuemax', String(Math.ceil(o.total / 1000)));
    o.bar.parentElement.setAttribute('aria-valuenow', String(Math.ceil(left / 1000)));
    o.left.textContent = `${Math.ceil(left / 1000)} s left`;
  }
  for (const w of state.work.values()) {
    const ix = w.ix;
    if (ix.state === 'connected') w.parts.timer.textContent = clock((now + state.skew - ix.answered_at) / 1000);
    if (ix.state === 'wrap_up') {
      w.parts.timer.textContent = '';
      w.parts.wrapLeft.textContent = ix.wrapup_until ? `${clock((ix.wrapup_until - state.skew - now) / 1000)} left` : 'no time limit';
    }
    if (w.parts.typing) w.parts.typing.textContent = chatOf(ix.id).typingUntil > now ? 'Customer is typing…' : '';
  }
  if (Math.floor(now / 1000) !== Math.floor((now - 250) / 1000)) renderMyDay();
}

// ---- keyboard ------------------------------------------------------------------------------

function onKey(ev) {
  const inField = ev.target.closest && ev.target.closest('input, textarea, select');
  const key = ev.key.toLowerCase();
  const plain = !ev.ctrlKey && !ev.metaKey && !ev.altKey && !inField;
  if ((plain || ev.altKey) && key === 'a') {
    const first = [...state.offers.keys()][0];
    if (first) { ev.preventDefault(); acceptOffer(first); }
  } else if ((plain || ev.altKey) && key === 'w') {
    const wrap = [...state.work.values()].find((w) => w.ix.state === 'wrap_up');
    if (wrap) { ev.preventDefault(); wrap.parts.disposition.focus(); }
  }
}

main().catch((e) => { if (e.message !== 'role' && e.message !== 'no tenant') console.error(e); });
