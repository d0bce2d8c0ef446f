// The sign-in page: the login answer sets the HttpOnly session cookie; then the person goes to
// the page they came for, or the one that fits their role.
import { api, get } from './lib/api.js';

const form = document.getElementById('login-form');
const error = document.getElementById('login-error');

function landing(tenants) {
  const next = new URLSearchParams(location.search).get('next');
  if (next && next.startsWith('/app/')) return next;
  const roles = tenants.map((t) => t.role);
  if (roles.includes('admin') && !roles.includes('agent') && !roles.includes('supervisor')) return '/app/admin.html';
  if (roles.includes('supervisor') && !roles.includes('agent')) return '/app/wallboard.html';
  return '/app/desktop.html';
}

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  error.textContent = '';
  const login = form.login.value.trim();
  const password = form.password.value;
  if (!login || !password) {
    error.textContent = 'Enter your user name and password.';
    return;
  }
  form.querySelector('button').disabled = true;
  try {
    const me = await api('POST', '/auth/login', { login, password });
    location.href = landing(me.tenants);
  } catch (e) {
    error.textContent = e.status === 401 ? 'Wrong user name or password.'
      : e.status === 429 ? 'Too many attempts. Wait a few minutes and try again.'
      : e.message;
    form.querySelector('button').disabled = false;
    form.password.select();
  }
});

// The button is disabled in the page until this script handles the form (a form sent by the
// browser itself would put the password in a URL).
form.querySelector('button').disabled = false;

// Already signed in: go straight on.
get('/me').then((me) => { location.href = landing(me.tenants); }).catch(() => {});
