// The console's entry: login (admin token or site owner's access key), the page menu, and the
// hash router (#/cluster, #/buckets, …) that renders one page at a time.
import { h, clear, say, action } from './dom.js';
import { ApiError, get, getSession, setSession } from './api.js';
import * as cluster from './page-cluster.js';
import * as buckets from './page-buckets.js';
import * as keys from './page-keys.js';
import * as sites from './page-sites.js';
import * as front from './page-front.js';
import * as workers from './page-workers.js';
import * as objects from './page-objects.js';
import * as layout from './page-layout.js';
import * as metrics from './page-metrics.js';
import * as audit from './page-audit.js';

const ADMIN_PAGES = [
  ['cluster', 'Cluster', cluster],
  ['layout', 'Layout', layout],
  ['buckets', 'Buckets', buckets],
  ['objects', 'Objects', objects],
  ['keys', 'Keys', keys],
  ['sites', 'Sites', sites],
  ['front', 'Front', front],
  ['workers', 'Workers', workers],
  ['metrics', 'Metrics', metrics],
  ['audit', 'Audit', audit],
];
const OWNER_PAGES = [['sites', 'My sites', sites]];

const main = document.getElementById('app');
const nav = document.getElementById('nav');
const who = document.getElementById('who');
const banner = document.getElementById('banner');
let cleanup = null;

function pagesFor(s) {
  return s?.kind === 'admin' ? ADMIN_PAGES : OWNER_PAGES;
}

function logout() {
  setSession(null);
  location.hash = '#/login';
  route();
}

function renderChrome(s, current) {
  clear(nav);
  clear(who);
  if (!s) return;
  for (const [id, label] of pagesFor(s)) nav.appendChild(h('a', { href: `#/${id}`, text: label, 'aria-current': id === current ? 'page' : undefined }));
  who.appendChild(h('span', { text: s.kind === 'admin' ? `admin: ${s.name}` : `key ${s.keyId}` }));
  who.appendChild(h('button', { class: 'secondary', type: 'button', onclick: logout, text: 'Log out' }));
}

function loginPage() {
  let mode = 'admin';
  const out = h('div');
  const tokenIn = h('input', { id: 'token', type: 'password', autocomplete: 'current-password', required: true, 'aria-describedby': 'token-help' });
  const keyIn = h('input', { id: 'key-id', autocomplete: 'username', required: true });
  const secretIn = h('input', { id: 'key-secret', type: 'password', autocomplete: 'current-password', required: true });
  const adminFields = h('div', {}, h('label', { for: 'token' }, 'Admin token', tokenIn), h('p', { id: 'token-help', class: 'muted', text: 'Your admin token (grenier admin-token create), or the admin_token of the node configuration.' }));
  const ownerFields = h(
    'div',
    { hidden: true },
    h('label', { for: 'key-id' }, 'Access key ID', keyIn),
    h('label', { for: 'key-secret' }, 'Secret key', secretIn),
    h('p', { class: 'muted', text: 'The secret stays in this browser tab: each request is signed here, the secret is never sent.' }),
  );
  const tabAdmin = h('button', { type: 'button', 'aria-pressed': 'true', text: 'Admin' });
  const tabOwner = h('button', { type: 'button', 'aria-pressed': 'false', text: 'Site owner' });
  const setMode = (m) => {
    mode = m;
    tabAdmin.setAttribute('aria-pressed', String(m === 'admin'));
    tabOwner.setAttribute('aria-pressed', String(m === 'owner'));
    adminFields.hidden = m !== 'admin';
    ownerFields.hidden = m !== 'owner';
    for (const i of [tokenIn]) i.required = m === 'admin';
    for (const i of [keyIn, secretIn]) i.required = m === 'owner';
  };
  setMode('admin');
  tabAdmin.addEventListener('click', () => setMode('admin'));
  tabOwner.addEventListener('click', () => setMode('owner'));
  const submit = h('button', { type: 'submit', text: 'Log in' });
  const form = h('form', { class: 'card', 'aria-label': 'Log in' }, adminFields, ownerFields, submit, out);
  form.addEventListener(
    'submit',
    action(submit, out, async () => {
      if (mode === 'admin') {
        const s = { kind: 'admin', token: tokenIn.value.trim() };
        const info = await get('GetCurrentAdminTokenInfo', {}, s);
        setSession({ ...s, name: info?.name ?? 'admin', scope: info?.scope ?? ['*'] });
        location.hash = '#/cluster';
      } else {
        const s = { kind: 'owner', keyId: keyIn.value.trim(), secret: secretIn.value.trim() };
        await get('ListSites', { limit: 1 }, s);
        setSession(s);
        location.hash = '#/sites';
      }
      route();
    }),
  );
  return h('section', { class: 'login' }, h('h1', { text: 'Grenier console' }), h('div', { class: 'tabs', role: 'group', 'aria-label': 'Log in as' }, tabAdmin, tabOwner), form);
}

export function setBanner(kind, text, detail) {
  clear(banner);
  banner.className = '';
  if (!kind) return;
  banner.className = `banner ${kind}`;
  banner.appendChild(h('span', { text }));
  if (detail) banner.appendChild(h('span', { class: 'muted', text: ` — ${detail}` }));
}

async function route() {
  if (cleanup) {
    try {
      cleanup();
    } catch {
      /* a page that fails to stop must not block the next */
    }
    cleanup = null;
  }
  const s = getSession();
  const id = (location.hash.replace(/^#\/?/, '').split('/')[0] || '').toLowerCase();
  if (!s) {
    renderChrome(null);
    setBanner(null);
    clear(main).appendChild(loginPage());
    document.getElementById('token')?.focus();
    return;
  }
  const pages = pagesFor(s);
  const page = pages.find(([p]) => p === id) ?? pages[0];
  if (page[0] !== id) history.replaceState(null, '', `#/${page[0]}`);
  renderChrome(s, page[0]);
  if (s.kind !== 'admin') setBanner(null);
  clear(main);
  const holder = h('div');
  main.appendChild(holder);
  try {
    cleanup = (await page[2].render(holder, { session: s, setBanner, logout })) ?? null;
  } catch (e) {
    if (e instanceof ApiError && (e.status === 401 || (e.status === 403 && /invalid token|expired|signature/.test(e.message)))) return logout();
    const out = h('div');
    holder.appendChild(out);
    say(out, e?.message ?? String(e));
  }
  main.focus({ preventScroll: true });
}

window.addEventListener('hashchange', route);
route();
