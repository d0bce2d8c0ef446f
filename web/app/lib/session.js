// Who is signed in and for which tenant; the top bar shared by the app pages.
import { api, get } from './api.js';
import { h, replace } from './dom.js';

const KEY = 'homeline.tenant';

const RANK = { agent: 0, supervisor: 1, admin: 2 };

// Loads /me and picks the tenant: ?tenant= in the URL, then the last one used, then the first.
// need: the lowest role the page requires ('agent', 'supervisor', 'admin').
export async function startPage(page, need) {
  const me = await get('/me');
  if (!me.tenants.length) {
    document.querySelector('main').replaceChildren(h('p.panel', {}, 'Your account belongs to no company yet.'));
    throw new Error('no tenant');
  }
  const wanted = new URLSearchParams(location.search).get('tenant') || localStorage.getItem(KEY);
  let tenant = me.tenants.find((t) => t.slug === wanted || String(t.id) === wanted);
  // A page the role may not see falls back to a tenant where it may.
  if (!tenant || RANK[tenant.role] < RANK[need]) tenant = me.tenants.find((t) => RANK[t.role] >= RANK[need]) || tenant || me.tenants[0];
  localStorage.setItem(KEY, tenant.slug);
  renderTop(page, me, tenant);
  if (RANK[tenant.role] < RANK[need]) {
    document.querySelector('main').replaceChildren(
      h('p.panel', {}, `This page is for ${need}s. `, h('a', { href: '/app/desktop.html' }, 'Open the agent desktop')));
    throw new Error('role');
  }
  return { me, tenant, T: `/tenants/${encodeURIComponent(tenant.slug)}` };
}

function renderTop(page, me, tenant) {
  const top = document.querySelector('header.top');
  const links = [['desktop', 'Desktop', 'agent'], ['wallboard', 'Wallboard', 'supervisor'], ['planning', 'Planning', 'supervisor'], ['calls', 'Calls', 'supervisor'], ['admin', 'Admin', 'admin']];
  const nav = h('nav', { 'aria-label': 'Pages' },
    links.filter(([, , r]) => RANK[tenant.role] >= RANK[r]).map(([p, label]) =>
      h('a', { href: `/app/${p}.html`, 'aria-current': p === page ? 'page' : undefined }, label)));
  const select = h('select', { id: 'tenant-switch', 'aria-label': 'Company' },
    me.tenants.map((t) => h('option', { value: t.slug, selected: t.slug === tenant.slug }, `${t.name} (${t.role})`)));
  select.addEventListener('change', () => {
    localStorage.setItem(KEY, select.value);
    location.href = location.pathname + '?tenant=' + encodeURIComponent(select.value);
  });
  const logout = h('button', { id: 'logout', type: 'button' }, 'Sign out');
  logout.addEventListener('click', async () => {
    try { await api('POST', '/auth/logout', {}); } catch { /* signed out either way */ }
    location.href = '/';
  });
  replace(top,
    h('a.brand', { href: '/app/desktop.html' }, 'Homeline'), nav, h('span.spacer'),
    me.tenants.length > 1 ? h('label.sr-only', { for: 'tenant-switch' }, 'Company') : null,
    me.tenants.length > 1 ? select : h('span.muted', {}, tenant.name),
    h('span', { id: 'who' }, me.user.name || me.user.login), logout);
}
