// Admin pages: the company (tenant) and its users and roles (with their phones' SIP
// passwords), skills and proficiencies, queues (targets, strategy, relaxation steps, voice
// settings), business hours, dispositions, and voice: SIP trunks, phone numbers and IVR menus,
// all through the REST API. Each tab is a table and a form; the form edits the selected row or
// creates a new one.
import { get, post, put, patch, del } from './lib/api.js';
import { h, replace, toast } from './lib/dom.js';
import { startPage } from './lib/session.js';

const $ = (id) => document.getElementById(id);
const CHANNELS = ['voice', 'chat', 'email', 'callback', 'task'];
const STRATEGIES = ['best_proficiency', 'longest_idle', 'round_robin', 'fewest_contacts', 'least_talk_time', 'random'];
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
let ctx;
let cache = {};

const TABS = [
  ['company', 'Company', renderCompany],
  ['users', 'Users and roles', renderUsers],
  ['skills', 'Skills', renderSkills],
  ['queues', 'Queues', renderQueues],
  ['hours', 'Business hours', renderHours],
  ['dispositions', 'Dispositions', renderDispositions],
  ['trunks', 'SIP trunks', renderTrunks],
  ['numbers', 'Phone numbers', renderNumbers],
  ['ivr', 'IVR menus', renderIvr],
];

async function main() {
  ctx = await startPage('admin', 'admin');
  const tabs = TABS.map(([id, label]) => h('button', { type: 'button', role: 'tab', id: `tab-${id}`, 'aria-controls': 'pane', onclick: () => show(id) }, label));
  replace($('tabs'), tabs);
  show(location.hash.slice(1) || 'company');
}

async function show(id) {
  const tab = TABS.find((t) => t[0] === id) || TABS[0];
  for (const b of document.querySelectorAll('[role=tab]')) b.setAttribute('aria-selected', String(b.id === `tab-${tab[0]}`));
  history.replaceState(null, '', '#' + tab[0]);
  cache = {};
  try {
    await tab[2]();
  } catch (e) {
    replace($('pane'), h('p.panel.error', {}, e.message));
  }
}

async function load(kind) {
  if (!cache[kind]) cache[kind] = await get(`${ctx.T}/${kind}`);
  return cache[kind];
}

function field(label, input, id) {
  input.id = input.id || `f-${id || label.toLowerCase().replace(/\W+/g, '-')}`;
  return h('div', {}, h('label', { for: input.id }, label), input);
}
const text = (value, attrs = {}) => h('input', { value: value ?? '', ...attrs });
const num = (value, attrs = {}) => h('input', { type: 'number', value: value ?? '', ...attrs });
const choose = (value, options) => h('select', {}, options.map(([v, l]) => h('option', { value: v, selected: String(v) === String(value) }, l)));

// A table of items with Edit/Delete, above a form for the one being edited (or a new one).
// label(item) names a row in headings and questions; afterSave(form, saved item) runs what a
// second route must store (a queue's voice settings, a user's SIP password): when it fails the
// form stays open on the saved item with the error.
const nameOf = (it) => it.name || it.code || it.login || it.number;
function listAndForm({ title, kind, items, columns, form, toBody, canDelete = true, noun, label = nameOf, afterSave, note }) {
  const pane = $('pane');
  let editing = null;
  const error = h('p.error', { role: 'alert' });
  const formBox = h('div');
  const heading = h('h2');
  const renderForm = () => {
    heading.textContent = editing ? `Edit ${noun} ${label(editing)}` : `New ${noun}`;
    const f = form(editing);
    const save = h('button.primary', { type: 'submit' }, editing ? 'Save' : `Create ${noun}`);
    const cancel = editing ? h('button', { type: 'button', onclick: () => { editing = null; renderForm(); } }, 'Cancel') : null;
    const el = h('form', { 'aria-labelledby': 'form-title' }, f.el, error, h('div.row', {}, save, cancel));
    el.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      error.textContent = '';
      try {
        const body = toBody(f, editing);
        const saved = editing ? await patch(`${ctx.T}/${kind}/${editing.id}`, body) : await post(`${ctx.T}/${kind}`, body);
        if (afterSave) {
          try {
            await afterSave(f, saved);
          } catch (e) {
            // The form keeps what was typed; the next Save changes the stored item.
            editing = saved;
            heading.textContent = `Edit ${noun} ${label(saved)}`;
            save.textContent = 'Save';
            error.textContent = `The ${noun} was saved, but: ${e.message}`;
            return;
          }
        }
        toast(`${noun[0].toUpperCase() + noun.slice(1)} saved`);
        show(location.hash.slice(1));
      } catch (e) {
        error.textContent = e.message;
      }
    });
    replace(formBox, el);
  };
  heading.id = 'form-title';
  const table = h('table', {},
    h('thead', {}, h('tr', {}, columns.map(([c]) => h('th', { scope: 'col' }, c)), h('th', { scope: 'col' }, h('span.sr-only', {}, 'Actions')))),
    h('tbody', {}, items.map((it) => h('tr', { dataset: { id: it.id } },
      columns.map(([, fn]) => h('td', {}, fn(it))),
      h('td', {}, h('div.row', {},
        h('button', { type: 'button', onclick: () => { editing = it; renderForm(); heading.scrollIntoView(); formBox.querySelector('input, select')?.focus(); } }, 'Edit'),
        canDelete ? h('button.danger', { type: 'button', onclick: async () => {
          if (!confirm(`Delete ${noun} ${label(it)}?`)) return;
          try { await del(`${ctx.T}/${kind}/${it.id}`); toast('Deleted'); show(location.hash.slice(1)); } catch (e) { error.textContent = `Cannot delete ${noun} ${label(it)}: ${e.message}`; toast(e.message); }
        } }, 'Delete') : null))))));
  replace(pane, h('div.panel', {}, h('h1', {}, title), note ? h('p.muted', {}, note) : null, table), h('div.panel', {}, heading, formBox));
  renderForm();
}

// Rows of small inputs (relaxation steps, opening ranges, skill requirements).
function rows(initial, make, addLabel) {
  const box = h('div.rows');
  const add = (v) => {
    const r = make(v);
    const rm = h('button', { type: 'button', 'aria-label': 'Remove row', onclick: () => row.remove() }, '✕');
    const row = h('div.r', {}, r.el, rm);
    row.read = r.read;
    box.insertBefore(row, addBtn);
  };
  const addBtn = h('button', { type: 'button', onclick: () => add(null) }, addLabel);
  box.append(addBtn);
  for (const v of initial) add(v);
  return { el: box, read: () => [...box.querySelectorAll('.r')].map((r) => r.read()) };
}

let uid = 0;
function small(label, input) {
  input.id = `s-${++uid}`;
  return h('div', {}, h('label', { for: input.id }, label), input);
}

// ---- company -------------------------------------------------------------------------------

async function renderCompany() {
  const t = await get(ctx.T);
  const name = text(t.name, { required: true });
  const reasons = text(t.settings.break_reasons.join(', '));
  const origins = text(t.settings.allowed_origins.join(', '), { placeholder: 'https://www.example.com' });
  const tz = text(t.settings.timezone);
  const misses = num(t.settings.max_missed_offers, { min: 1 });
  const lease = num(t.settings.presence_lease_s, { min: 10 });
  const error = h('p.error', { role: 'alert' });
  const form = h('form', {},
    h('div.form-grid', {}, field('Company name', name, 'tenant-name'), field('Time zone', tz, 'tz'),
      field('Missed offers before "missed"', misses, 'misses'), field('Presence lease (s)', lease, 'lease')),
    field('Break reasons (comma separated)', reasons, 'reasons'),
    field('Sites allowed to embed the chat widget (origins, comma separated)', origins, 'origins'),
    error, h('button.primary', { type: 'submit' }, 'Save'));
  const list = (s) => s.split(',').map((x) => x.trim()).filter(Boolean);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.textContent = '';
    try {
      await patch(ctx.T, { name: name.value, settings: { break_reasons: list(reasons.value), allowed_origins: list(origins.value), timezone: tz.value, max_missed_offers: Number(misses.value), presence_lease_s: Number(lease.value) } });
      toast('Company saved');
    } catch (e) { error.textContent = e.message; }
  });
  const snippet = `<script src="${location.origin}/widget.js" data-tenant="${t.slug}" async></script>`;
  replace($('pane'),
    h('div.panel', {}, h('h1', {}, `${t.name} `, h('span.muted', {}, `(${t.slug})`)), form),
    h('div.panel', {}, h('h2', {}, 'Chat widget'), h('p.muted', {}, 'Paste this tag into the pages of your site:'), h('pre', {}, h('code', {}, snippet))),
    ctx.me.user.platform_admin ? await tenantsPanel() : null);
}

// Platform admins see every company on the server and may add one (they become its admin).
async function tenantsPanel() {
  const all = await get('/tenants');
  const slug = text('', { required: true, pattern: '[a-z0-9_-]+', placeholder: 'initech' });
  const name = text('', { required: true, placeholder: 'Initech' });
  const error = h('p.error', { role: 'alert' });
  const form = h('form', { 'aria-label': 'New company' },
    h('div.form-grid', {}, field('Short name (slug)', slug, 'new-slug'), field('Company name', name, 'new-tenant-name')),
    error, h('button.primary', { type: 'submit' }, 'Create company'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.textContent = '';
    try {
      await post('/tenants', { slug: slug.value.trim(), name: name.value.trim() });
      toast('Company created');
      show('company');
    } catch (e) { error.textContent = e.message; }
  });
  return h('div.panel', {}, h('h2', {}, 'Companies on this server'),
    h('table', {}, h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Company'), h('th', { scope: 'col' }, 'Slug'))),
      h('tbody', {}, all.map((t) => h('tr', { dataset: { tenant: t.slug } }, h('td', {}, t.name), h('td', {}, t.slug))))),
    h('h3', {}, 'New company'), form);
}

// ---- users ---------------------------------------------------------------------------------

async function renderUsers() {
  const [users, skills] = await Promise.all([load('users'), load('skills')]);
  listAndForm({
    title: 'Users and roles', kind: 'users', items: users, noun: 'user',
    columns: [['Name', (u) => u.name], ['Login', (u) => u.login], ['Role', (u) => u.role],
      ['Skills', (u) => Object.entries(u.skills).map(([k, v]) => `${k} ${v}`).join(', ')],
      ['Capacity', (u) => CHANNELS.filter((c) => u.capacity[c]).map((c) => `${c} ${u.capacity[c]}`).join(', ')],
      ['Phone', (u) => (u.sip_password ? 'SIP password set' : '—')]],
    form: (u) => {
      const f = {
        login: text(u?.login, { disabled: !!u, required: true, autocomplete: 'off' }),
        name: text(u?.name),
        password: text('', { type: 'password', autocomplete: 'new-password', placeholder: u ? 'unchanged' : '' }),
        role: choose(u?.role || 'agent', [['agent', 'Agent'], ['supervisor', 'Supervisor'], ['admin', 'Admin']]),
        skills: skills.map((s) => [s.name, num(u?.skills?.[s.name] ?? '', { min: 1, max: 10, placeholder: '—' })]),
        capacity: CHANNELS.map((c) => [c, num(u?.capacity?.[c] ?? '', { min: 0, max: 50 })]),
        sip: text('', { type: 'password', autocomplete: 'new-password', placeholder: u?.sip_password ? 'set: unchanged' : 'none' }),
        sipRemove: u?.sip_password ? h('input', { type: 'checkbox' }) : null,
      };
      f.el = h('div', {},
        u ? null : h('p.muted', {}, 'To add someone who already works for another company here (a contractor), give their login and leave the password empty.'),
        h('div.form-grid', {}, field('Login', f.login, 'login'), field('Name', f.name, 'name'), field('Password', f.password, 'password'), field('Role', f.role, 'role')),
        h('h3', {}, 'Skills (proficiency 1–10; empty: none)'),
        h('div.form-grid', {}, f.skills.map(([n, i]) => field(n, i, 'skill-' + n))),
        h('h3', {}, 'Capacity (contacts at once per channel)'),
        h('div.form-grid', {}, f.capacity.map(([c, i]) => field(c, i, 'cap-' + c))),
        h('h3', {}, 'Phone (SIP)'),
        h('p.muted', {}, `The softphone or desk phone registers with the login as its user name and this password (4–128 characters), kept apart from the login password.`),
        h('div.form-grid', {}, field('SIP password', f.sip, 'sip-password'),
          f.sipRemove ? h('div', {}, h('label.inline', { for: 'f-sip-remove' }, f.sipRemove, ' Remove the SIP password')) : null));
      if (f.sipRemove) f.sipRemove.id = 'f-sip-remove';
      return f;
    },
    afterSave: async (f, saved) => {
      if (f.sip.value) await put(`${ctx.T}/users/${saved.id}/sip-password`, { password: f.sip.value });
      else if (f.sipRemove?.checked) await put(`${ctx.T}/users/${saved.id}/sip-password`, { password: null });
    },
    toBody: (f, u) => {
      const body = { name: f.name.value, role: f.role.value, skills: {}, capacity: {} };
      if (!u) body.login = f.login.value;
      if (f.password.value) body.password = f.password.value;
      for (const [n, i] of f.skills) if (i.value !== '') body.skills[n] = Number(i.value);
      for (const [c, i] of f.capacity) if (i.value !== '') body.capacity[c] = Number(i.value);
      return body;
    },
  });
}

// ---- skills and dispositions ---------------------------------------------------------------

async function renderSkills() {
  listAndForm({
    title: 'Skills', kind: 'skills', items: await load('skills'), noun: 'skill',
    columns: [['Name', (s) => s.name]],
    form: (s) => { const f = { name: text(s?.name, { required: true }) }; f.el = field('Skill name', f.name, 'skill-name'); return f; },
    toBody: (f) => ({ name: f.name.value }),
  });
}

async function renderDispositions() {
  listAndForm({
    title: 'Dispositions', kind: 'dispositions', items: await load('dispositions'), noun: 'disposition',
    columns: [['Code', (d) => d.code], ['Name', (d) => d.name]],
    form: (d) => {
      const f = { code: text(d?.code, { required: true }), name: text(d?.name) };
      f.el = h('div.form-grid', {}, field('Code', f.code, 'code'), field('Name', f.name, 'disp-name'));
      return f;
    },
    toBody: (f) => ({ code: f.code.value, name: f.name.value }),
  });
}

// ---- queues --------------------------------------------------------------------------------

async function renderQueues() {
  const [queues, skills, hours] = await Promise.all([load('queues'), load('skills'), load('hours')]);
  const voice = new Map(await Promise.all(queues.map(async (q) => [q.id, await get(`${ctx.T}/queues/${q.id}/voice`)])));
  const VOICE_DEFAULTS = { greeting_text: '', greeting_file: '', moh_file: '', position_interval_s: 0, record: false };
  const skillName = (id) => (skills.find((s) => s.id === id) || {}).name || id;
  const queueOpts = [[0, '—'], ...queues.map((q) => [q.id, q.name])];
  listAndForm({
    title: 'Queues', kind: 'queues', items: queues, noun: 'queue',
    columns: [['Name', (q) => q.name], ['Needs', (q) => q.skills.map((s) => `${skillName(s.skill)} ≥ ${s.min_proficiency}`).join(', ')],
      ['Strategy', (q) => q.strategy.replaceAll('_', ' ')], ['Target', (q) => `${Math.round(q.sl_target * 100)} % in ${q.sl_threshold_s} s`],
      ['Relaxation', (q) => q.steps.map((s) => s.overflow_to ? `${s.after_s} s → queue ${s.overflow_to}` : `${s.after_s} s → ≥ ${s.min_proficiency}`).join(', ')],
      ['Calls', (q) => voiceSummary(voice.get(q.id))]],
    form: (q) => {
      const f = {
        name: text(q?.name, { required: true }),
        strategy: choose(q?.strategy || 'best_proficiency', STRATEGIES.map((s) => [s, s.replaceAll('_', ' ')])),
        sl_target: num(q ? Math.round(q.sl_target * 100) : 80, { min: 0, max: 100 }),
        sl_threshold_s: num(q?.sl_threshold_s ?? 20, { min: 1 }),
        offer_timeout_s: num(q?.offer_timeout_s ?? 20, { min: 1 }),
        wrapup_s: num(q?.wrapup_s ?? 30, { min: 0 }),
        wrapup_max_extension_s: num(q?.wrapup_max_extension_s ?? 120, { min: 0 }),
        hours: choose(q?.hours ?? 0, [[0, 'Always open'], ...hours.map((x) => [x.id, x.name])]),
        skills: rows(q?.skills || [], (v) => {
          const s = choose(v?.skill ?? skills[0]?.id, skills.map((x) => [x.id, x.name]));
          const p = num(v?.min_proficiency ?? 1, { min: 1, max: 10 });
          return { el: h('div.row', {}, small('Skill', s), small('Min. proficiency', p)), read: () => ({ skill: Number(s.value), min_proficiency: Number(p.value) }) };
        }, 'Add a required skill'),
        steps: rows(q?.steps || [], (v) => {
          const a = num(v?.after_s ?? 30, { min: 1 });
          const p = num(v?.min_proficiency ?? 1, { min: 0, max: 10 });
          const o = choose(v?.overflow_to ?? 0, queueOpts);
          return { el: h('div.row', {}, small('After (s)', a), small('Min. proficiency', p), small('Or overflow to', o)),
            read: () => ({ after_s: Number(a.value), min_proficiency: Number(p.value), overflow_to: Number(o.value) }) };
        }, 'Add a relaxation step'),
      };
      const v = (q && voice.get(q.id)) || VOICE_DEFAULTS;
      f.voice = {
        greeting_text: text(v.greeting_text, { placeholder: 'the default greeting' }),
        greeting_file: text(v.greeting_file, { placeholder: 'greeting.wav' }),
        moh_file: text(v.moh_file, { placeholder: 'the default music' }),
        position_interval_s: num(v.position_interval_s, { min: 0, max: 3600 }),
        record: h('input', { type: 'checkbox', checked: v.record, id: 'f-record' }),
      };
      f.voiceBefore = v;
      f.el = h('div', {},
        h('div.form-grid', {}, field('Name', f.name, 'q-name'), field('Strategy', f.strategy, 'strategy'),
          field('Service level target (%)', f.sl_target, 'sl-target'), field('…answered within (s)', f.sl_threshold_s, 'sl-threshold'),
          field('Offer timeout (s)', f.offer_timeout_s, 'offer-timeout'), field('Wrap-up time (s)', f.wrapup_s, 'wrapup'),
          field('Wrap-up extension, at most (s)', f.wrapup_max_extension_s, 'wrapup-ext'), field('Business hours', f.hours, 'q-hours')),
        h('h3', {}, 'Required skills'), f.skills.el,
        h('h3', {}, 'Relaxation steps (after waiting this long, accept lower proficiency or overflow)'), f.steps.el,
        h('h3', {}, 'Calls (voice)'),
        h('div.form-grid', {}, field('Greeting (spoken text)', f.voice.greeting_text, 'greeting-text'),
          field('Greeting file (WAV under data_dir/prompts; wins over the text)', f.voice.greeting_file, 'greeting-file'),
          field('Music on hold file (WAV)', f.voice.moh_file, 'moh-file'),
          field('Announce the position every (s; 0 never, else 10–3600)', f.voice.position_interval_s, 'position-interval')),
        h('div', {}, h('label.inline', { for: 'f-record' }, f.voice.record, ' Record calls (two-channel WAV; supervisors play them under Calls)')),
        h('p.muted', {}, 'Capacity (how many contacts of each channel an agent takes at once) is set per user, under Users and roles.'));
      return f;
    },
    toBody: (f) => ({
      name: f.name.value, strategy: f.strategy.value, sl_target: Number(f.sl_target.value) / 100,
      sl_threshold_s: Number(f.sl_threshold_s.value), offer_timeout_s: Number(f.offer_timeout_s.value),
      wrapup_s: Number(f.wrapup_s.value), wrapup_max_extension_s: Number(f.wrapup_max_extension_s.value),
      hours: Number(f.hours.value), skills: f.skills.read(), steps: f.steps.read(),
    }),
    // Voice settings have their own route; stored only when they changed.
    afterSave: async (f, saved) => {
      const next = {
        greeting_text: f.voice.greeting_text.value.trim(), greeting_file: f.voice.greeting_file.value.trim(),
        moh_file: f.voice.moh_file.value.trim(), position_interval_s: Number(f.voice.position_interval_s.value || 0),
        record: f.voice.record.checked,
      };
      if (Object.keys(next).some((k) => next[k] !== f.voiceBefore[k])) await put(`${ctx.T}/queues/${saved.id}/voice`, next);
    },
  });
}

function voiceSummary(v) {
  if (!v) return '';
  const parts = [];
  if (v.greeting_file || v.greeting_text) parts.push('greeting');
  if (v.moh_file) parts.push(`music ${v.moh_file}`);
  if (v.position_interval_s) parts.push(`position every ${v.position_interval_s} s`);
  if (v.record) parts.push('recorded');
  return parts.join(', ');
}

// ---- business hours ------------------------------------------------------------------------

const hm = (min) => `${String(Math.floor(min / 60)).padStart(2, '0')}:${String(min % 60).padStart(2, '0')}`;
const toMin = (s) => { const [a, b] = s.split(':').map(Number); return a * 60 + (b || 0); };

async function renderHours() {
  listAndForm({
    title: 'Business hours', kind: 'hours', items: await load('hours'), noun: 'schedule',
    columns: [['Name', (x) => x.name], ['Open', (x) => x.ranges.map((r) => `${DAYS[r.day]} ${hm(r.start_min)}–${hm(r.end_min)}`).join(', ')],
      ['Closed dates', (x) => x.closed_dates.join(', ')]],
    form: (x) => {
      const f = {
        name: text(x?.name, { required: true }),
        closed: text((x?.closed_dates || []).join(', '), { placeholder: 'YYYY-MM-DD, …' }),
        tz: text(x?.timezone || '', { placeholder: 'the tenant\'s, or e.g. America/New_York, +02:00' }),
        ranges: rows(x?.ranges || [{ day: 1, start_min: 540, end_min: 1020 }], (v) => {
          const d = choose(v?.day ?? 1, DAYS.map((n, i) => [i, n]));
          const s = h('input', { type: 'time', value: hm(v?.start_min ?? 540) });
          const e = h('input', { type: 'time', value: hm(v?.end_min ?? 1020) });
          return { el: h('div.row', {}, small('Day', d), small('Opens', s), small('Closes', e)),
            read: () => ({ day: Number(d.value), start_min: toMin(s.value), end_min: toMin(e.value) }) };
        }, 'Add opening hours'),
      };
      f.el = h('div', {}, field('Name', f.name, 'h-name'), field('Time zone (local wall-clock hours, daylight saving included)', f.tz, 'h-tz'),
        h('h3', {}, 'Open (' + (x?.effective_timezone || 'tenant time zone') + ')'), f.ranges.el, field('Closed on (holidays)', f.closed, 'closed'));
      return f;
    },
    toBody: (f) => ({ name: f.name.value, timezone: f.tz.value.trim(), ranges: f.ranges.read(), closed_dates: f.closed.value.split(',').map((s) => s.trim()).filter(Boolean) }),
  });
}

// ---- voice: SIP trunks, phone numbers, IVR menus (docs/api.md "Voice") ---------------------

// A write-only password: empty keeps the stored one; the box clears it.
function secret(isSet, id) {
  const input = text('', { type: 'password', autocomplete: 'new-password', placeholder: isSet ? 'set: unchanged' : 'none' });
  const clear = isSet ? h('input', { type: 'checkbox', id: `f-${id}-clear` }) : null;
  const el = h('div', {}, field('Password', input, id),
    clear ? h('label.inline', { for: clear.id }, clear, ' Remove the stored password') : null);
  return { el, read: () => (input.value ? input.value : clear?.checked ? '' : undefined) };
}
const lines = (s) => s.split(/[\s,]+/).map((x) => x.trim()).filter(Boolean);

async function renderTrunks() {
  listAndForm({
    title: 'SIP trunks', kind: 'trunks', items: await load('trunks'), noun: 'trunk',
    note: 'A trunk is the connection to a carrier: which addresses (or digest credentials) calls may come from, and where outbound calls go.',
    columns: [['Name', (t) => t.name],
      ['Calls accepted from', (t) => [t.inbound.sources.join(', '), t.inbound.username ? `digest user ${t.inbound.username}` : ''].filter(Boolean).join('; ') || '—'],
      ['Outbound', (t) => (t.outbound.host ? `${t.outbound.host}:${t.outbound.port} ${t.outbound.transport}, priority ${t.outbound.priority}, rings ${t.outbound.dial_timeout_s} s` : '—')],
      ['Caller ID', (t) => t.outbound.caller_id || '—']],
    form: (t) => {
      const f = {
        name: text(t?.name, { required: true }),
        sources: h('textarea', { rows: 2, placeholder: '203.0.113.0/24, 2001:db8::/32' }),
        in_user: text(t?.inbound.username, { autocomplete: 'off' }),
        in_pass: secret(t?.inbound.password_set, 'in-password'),
        host: text(t?.outbound.host, { placeholder: 'sip.example.net' }),
        port: num(t?.outbound.port ?? 5060, { min: 1, max: 65535 }),
        transport: choose(t?.outbound.transport || 'udp', [['udp', 'UDP'], ['tcp', 'TCP']]),
        out_user: text(t?.outbound.username, { autocomplete: 'off' }),
        out_pass: secret(t?.outbound.password_set, 'out-password'),
        caller_id: text(t?.outbound.caller_id, { placeholder: '+15550100' }),
        priority: num(t?.outbound.priority ?? 0, { min: 0, max: 1000 }),
        dial_timeout: num(t?.outbound.dial_timeout_s ?? 60, { min: 5, max: 600 }),
      };
      f.sources.value = (t?.inbound.sources || []).join(', ');
      f.el = h('div', {},
        field('Name', f.name, 'trunk-name'),
        h('h3', {}, 'Inbound: calls from the carrier'),
        field('Source addresses or networks (CIDR, comma or line separated)', f.sources, 'sources'),
        h('div.form-grid', {}, field('Digest user name', f.in_user, 'in-user'), f.in_pass.el),
        h('h3', {}, 'Outbound: calls to the carrier'),
        h('div.form-grid', {}, field('Host', f.host, 'out-host'), field('Port', f.port, 'out-port'), field('Transport', f.transport, 'out-transport'),
          field('Caller ID (E.164)', f.caller_id, 'caller-id'), field('User name', f.out_user, 'out-user'), f.out_pass.el,
          field('Priority (lowest tried first; the next trunk when one fails)', f.priority, 'out-priority'),
          field('Number rings at most (seconds, 5-600)', f.dial_timeout, 'dial-timeout')));
      return f;
    },
    toBody: (f) => {
      const inbound = { sources: lines(f.sources.value), username: f.in_user.value.trim() };
      const outbound = { host: f.host.value.trim(), port: Number(f.port.value || 5060), transport: f.transport.value,
        username: f.out_user.value.trim(), caller_id: f.caller_id.value.trim(),
        priority: Number(f.priority.value || 0), dial_timeout_s: Number(f.dial_timeout.value || 60) };
      if (f.in_pass.read() !== undefined) inbound.password = f.in_pass.read();
      if (f.out_pass.read() !== undefined) outbound.password = f.out_pass.read();
      return { name: f.name.value.trim(), inbound, outbound };
    },
  });
}

async function renderNumbers() {
  const [numbers, queues, menus, trunks] = await Promise.all([load('numbers'), load('queues'), load('ivr'), load('trunks')]);
  const nameIn = (list, id) => (list.find((x) => x.id === id) || {}).name || `#${id}`;
  listAndForm({
    title: 'Phone numbers', kind: 'numbers', items: numbers, noun: 'number', label: (n) => n.number,
    note: 'Each number (E.164, such as +15550100) sends its calls to a queue or to an IVR menu.',
    columns: [['Number', (n) => n.number], ['Name', (n) => n.name],
      ['Goes to', (n) => (n.queue ? `queue ${nameIn(queues, n.queue)}` : `IVR menu ${nameIn(menus, n.ivr)}`)],
      ['Trunk', (n) => (n.trunk ? nameIn(trunks, n.trunk) : 'any')]],
    form: (n) => {
      const f = {
        number: text(n?.number, { required: true, placeholder: '+15550100', inputmode: 'tel' }),
        name: text(n?.name),
        kind: choose(n?.ivr ? 'ivr' : 'queue', [['queue', 'a queue'], ['ivr', 'an IVR menu']]),
        queue: choose(n?.queue || queues[0]?.id, queues.map((q) => [q.id, q.name])),
        ivr: choose(n?.ivr || menus[0]?.id, menus.map((m) => [m.id, m.name])),
        trunk: choose(n?.trunk ?? 0, [[0, 'Any of the company’s trunks'], ...trunks.map((t) => [t.id, t.name])]),
      };
      const queueBox = field('Queue', f.queue, 'n-queue');
      const ivrBox = field('IVR menu', f.ivr, 'n-ivr');
      const sync = () => { queueBox.hidden = f.kind.value !== 'queue'; ivrBox.hidden = f.kind.value !== 'ivr'; };
      f.kind.addEventListener('change', sync);
      sync();
      f.el = h('div.form-grid', {}, field('Number (E.164)', f.number, 'number'), field('Name', f.name, 'n-name'),
        field('Calls go to', f.kind, 'n-kind'), queueBox, ivrBox, field('Only through trunk', f.trunk, 'n-trunk'));
      return f;
    },
    toBody: (f) => {
      const body = { number: f.number.value.trim(), name: f.name.value.trim(), trunk: Number(f.trunk.value) };
      if (f.kind.value === 'queue') body.queue = Number(f.queue.value);
      else body.ivr = Number(f.ivr.value);
      return body;
    },
  });
}

const KEYS = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '0', '*', '#'];

// One IVR action ({queue}, {menu}, {number}, {repeat}, {hangup}) as a kind and a target.
function ivrAction(value, queues, menus, { allowRepeat = true } = {}) {
  const v = value || {};
  const current = 'queue' in v ? 'queue' : 'menu' in v ? 'menu' : 'number' in v ? 'number' : v.repeat ? 'repeat' : 'hangup';
  const kinds = [['queue', 'Queue'], ['menu', 'Menu'], ['number', 'Number'], ...(allowRepeat ? [['repeat', 'Play again']] : []), ['hangup', 'Hang up']];
  const kind = choose(current, kinds);
  const queue = choose(v.queue ?? queues[0]?.id, queues.map((q) => [q.id, q.name]));
  const menu = choose(v.menu ?? menus[0]?.id, menus.map((m) => [m.id, m.name]));
  const number = text(v.number, { placeholder: '+15550199', inputmode: 'tel' });
  const qBox = small('Queue', queue), mBox = small('Menu', menu), nBox = small('Number', number);
  const sync = () => { qBox.hidden = kind.value !== 'queue'; mBox.hidden = kind.value !== 'menu'; nBox.hidden = kind.value !== 'number'; };
  kind.addEventListener('change', sync);
  sync();
  return {
    els: [small('Action', kind), qBox, mBox, nBox],
    read: () => {
      switch (kind.value) {
        case 'queue': return { queue: Number(queue.value) };
        case 'menu': return { menu: Number(menu.value) };
        case 'number': return { number: number.value.trim() };
        case 'repeat': return { repeat: true };
        default: return { hangup: true };
      }
    },
  };
}

function describeAction(a, queues, menus) {
  if (!a || !Object.keys(a).length || a.hangup) return 'hang up';
  if (a.repeat) return 'play again';
  if ('queue' in a) return `queue ${(queues.find((q) => q.id === a.queue) || {}).name || a.queue}`;
  if ('menu' in a) return `menu ${(menus.find((m) => m.id === a.menu) || {}).name || a.menu}`;
  return `number ${a.number}`;
}

async function renderIvr() {
  const [menus, queues] = await Promise.all([load('ivr'), load('queues')]);
  listAndForm({
    title: 'IVR menus', kind: 'ivr', items: menus, noun: 'IVR menu',
    note: 'The caller hears the prompt and presses one key. A number routed to a menu is set under Phone numbers.',
    columns: [['Name', (m) => m.name], ['Prompt', (m) => m.prompt_file || m.prompt_text],
      ['Keys', (m) => Object.entries(m.options).map(([k, a]) => `${k}: ${describeAction(a, queues, menus)}`).join(', ')],
      ['No choice', (m) => `${m.timeout_s} s, ${m.max_retries} more times, then ${describeAction(m.on_failure, queues, menus)}`]],
    form: (m) => {
      const f = {
        name: text(m?.name, { required: true }),
        prompt_text: h('textarea', { rows: 2, placeholder: 'For sales press 1, for billing press 2.' }),
        prompt_file: text(m?.prompt_file, { placeholder: 'menu.wav' }),
        timeout_s: num(m?.timeout_s ?? 5, { min: 1, max: 60 }),
        max_retries: num(m?.max_retries ?? 2, { min: 0, max: 10 }),
        options: rows(Object.entries(m?.options || { 1: queues[0] ? { queue: queues[0].id } : { hangup: true } }), (v) => {
          const key = choose(v?.[0] ?? '1', KEYS.map((k) => [k, k]));
          const act = ivrAction(v?.[1], queues, menus);
          return { el: h('div.row', {}, small('Key', key), act.els), read: () => [key.value, act.read()] };
        }, 'Add a key'),
        failure: ivrAction(m?.on_failure, queues, menus, { allowRepeat: false }),
      };
      f.prompt_text.value = m?.prompt_text || '';
      f.el = h('div', {},
        h('div.form-grid', {}, field('Name', f.name, 'ivr-name'), field('Prompt file (WAV under data_dir/prompts; wins over the text)', f.prompt_file, 'prompt-file')),
        field('Prompt (spoken text)', f.prompt_text, 'prompt-text'),
        h('h3', {}, 'Keys'), f.options.el,
        h('h3', {}, 'When no key (or a key without an option) is pressed'),
        h('div.form-grid', {}, field('Wait for a key (s)', f.timeout_s, 'ivr-timeout'), field('Play the prompt again, times', f.max_retries, 'ivr-retries')),
        h('div.row', {}, h('span.muted', {}, 'Then:'), f.failure.els));
      return f;
    },
    toBody: (f) => {
      const options = {};
      for (const [k, a] of f.options.read()) {
        if (k in options) throw new Error(`Key ${k} is given twice.`);
        options[k] = a;
      }
      const failure = f.failure.read();
      return {
        name: f.name.value.trim(), prompt_text: f.prompt_text.value.trim(), prompt_file: f.prompt_file.value.trim(),
        timeout_s: Number(f.timeout_s.value), max_retries: Number(f.max_retries.value), options,
        on_failure: failure.hangup ? {} : failure,
      };
    },
  });
}

main().catch((e) => { if (e.message !== 'role' && e.message !== 'no tenant') console.error(e); });
