// Admin pages: the company (tenant) and its users and roles, skills and proficiencies, queues
// (targets, strategy, relaxation steps), business hours and dispositions, all through the REST
// API. Each tab is a table and a form; the form edits the selected row or creates a new one.
import { get, post, patch, del } from './lib/api.js';
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
function listAndForm({ title, kind, items, columns, form, toBody, canDelete = true, noun }) {
  const pane = $('pane');
  let editing = null;
  const error = h('p.error', { role: 'alert' });
  const formBox = h('div');
  const heading = h('h2');
  const renderForm = () => {
    heading.textContent = editing ? `Edit ${noun} ${editing.name || editing.code || editing.login}` : `New ${noun}`;
    const f = form(editing);
    const save = h('button.primary', { type: 'submit' }, editing ? 'Save' : `Create ${noun}`);
    const cancel = editing ? h('button', { type: 'button', onclick: () => { editing = null; renderForm(); } }, 'Cancel') : null;
    const el = h('form', { 'aria-labelledby': 'form-title' }, f.el, error, h('div.row', {}, save, cancel));
    el.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      error.textContent = '';
      try {
        const body = toBody(f, editing);
        if (editing) await patch(`${ctx.T}/${kind}/${editing.id}`, body);
        else await post(`${ctx.T}/${kind}`, body);
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
          if (!confirm(`Delete ${noun} ${it.name || it.code || it.login}?`)) return;
          try { await del(`${ctx.T}/${kind}/${it.id}`); toast('Deleted'); show(location.hash.slice(1)); } catch (e) { toast(e.message); }
        } }, 'Delete') : null))))));
  replace(pane, h('div.panel', {}, h('h1', {}, title), table), h('div.panel', {}, heading, formBox));
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
      ['Capacity', (u) => CHANNELS.filter((c) => u.capacity[c]).map((c) => `${c} ${u.capacity[c]}`).join(', ')]],
    form: (u) => {
      const f = {
        login: text(u?.login, { disabled: !!u, required: true, autocomplete: 'off' }),
        name: text(u?.name),
        password: text('', { type: 'password', autocomplete: 'new-password', placeholder: u ? 'unchanged' : '' }),
        role: choose(u?.role || 'agent', [['agent', 'Agent'], ['supervisor', 'Supervisor'], ['admin', 'Admin']]),
        skills: skills.map((s) => [s.name, num(u?.skills?.[s.name] ?? '', { min: 1, max: 10, placeholder: '—' })]),
        capacity: CHANNELS.map((c) => [c, num(u?.capacity?.[c] ?? '', { min: 0, max: 50 })]),
      };
      f.el = h('div', {},
        u ? null : h('p.muted', {}, 'To add someone who already works for another company here (a contractor), give their login and leave the password empty.'),
        h('div.form-grid', {}, field('Login', f.login, 'login'), field('Name', f.name, 'name'), field('Password', f.password, 'password'), field('Role', f.role, 'role')),
        h('h3', {}, 'Skills (proficiency 1–10; empty: none)'),
        h('div.form-grid', {}, f.skills.map(([n, i]) => field(n, i, 'skill-' + n))),
        h('h3', {}, 'Capacity (contacts at once per channel)'),
        h('div.form-grid', {}, f.capacity.map(([c, i]) => field(c, i, 'cap-' + c))));
      return f;
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
  const skillName = (id) => (skills.find((s) => s.id === id) || {}).name || id;
  const queueOpts = [[0, '—'], ...queues.map((q) => [q.id, q.name])];
  listAndForm({
    title: 'Queues', kind: 'queues', items: queues, noun: 'queue',
    columns: [['Name', (q) => q.name], ['Needs', (q) => q.skills.map((s) => `${skillName(s.skill)} ≥ ${s.min_proficiency}`).join(', ')],
      ['Strategy', (q) => q.strategy.replaceAll('_', ' ')], ['Target', (q) => `${Math.round(q.sl_target * 100)} % in ${q.sl_threshold_s} s`],
      ['Relaxation', (q) => q.steps.map((s) => s.overflow_to ? `${s.after_s} s → queue ${s.overflow_to}` : `${s.after_s} s → ≥ ${s.min_proficiency}`).join(', ')]],
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
      f.el = h('div', {},
        h('div.form-grid', {}, field('Name', f.name, 'q-name'), field('Strategy', f.strategy, 'strategy'),
          field('Service level target (%)', f.sl_target, 'sl-target'), field('…answered within (s)', f.sl_threshold_s, 'sl-threshold'),
          field('Offer timeout (s)', f.offer_timeout_s, 'offer-timeout'), field('Wrap-up time (s)', f.wrapup_s, 'wrapup'),
          field('Wrap-up extension, at most (s)', f.wrapup_max_extension_s, 'wrapup-ext'), field('Business hours', f.hours, 'q-hours')),
        h('h3', {}, 'Required skills'), f.skills.el,
        h('h3', {}, 'Relaxation steps (after waiting this long, accept lower proficiency or overflow)'), f.steps.el,
        h('p.muted', {}, 'Capacity (how many contacts of each channel an agent takes at once) is set per user, under Users and roles.'));
      return f;
    },
    toBody: (f) => ({
      name: f.name.value, strategy: f.strategy.value, sl_target: Number(f.sl_target.value) / 100,
      sl_threshold_s: Number(f.sl_threshold_s.value), offer_timeout_s: Number(f.offer_timeout_s.value),
      wrapup_s: Number(f.wrapup_s.value), wrapup_max_extension_s: Number(f.wrapup_max_extension_s.value),
      hours: Number(f.hours.value), skills: f.skills.read(), steps: f.steps.read(),
    }),
  });
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
        ranges: rows(x?.ranges || [{ day: 1, start_min: 540, end_min: 1020 }], (v) => {
          const d = choose(v?.day ?? 1, DAYS.map((n, i) => [i, n]));
          const s = h('input', { type: 'time', value: hm(v?.start_min ?? 540) });
          const e = h('input', { type: 'time', value: hm(v?.end_min ?? 1020) });
          return { el: h('div.row', {}, small('Day', d), small('Opens', s), small('Closes', e)),
            read: () => ({ day: Number(d.value), start_min: toMin(s.value), end_min: toMin(e.value) }) };
        }, 'Add opening hours'),
      };
      f.el = h('div', {}, field('Name', f.name, 'h-name'), h('h3', {}, 'Open (tenant time zone)'), f.ranges.el, field('Closed on (holidays)', f.closed, 'closed'));
      return f;
    },
    toBody: (f) => ({ name: f.name.value, ranges: f.ranges.read(), closed_dates: f.closed.value.split(',').map((s) => s.trim()).filter(Boolean) }),
  });
}

main().catch((e) => { if (e.message !== 'role' && e.message !== 'no tenant') console.error(e); });
