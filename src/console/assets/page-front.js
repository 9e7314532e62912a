// The HTTPS front: routes (host + path → website, S3 or upstreams, with each upstream's health as
// this node sees it) and certificates with expiry and renewal state.
import { h, when } from './dom.js';
import { get } from './api.js';

function table(id, heads, rows, empty) {
  return h('div', { class: 'table-wrap' }, h('table', { id }, h('thead', {}, h('tr', {}, heads.map((t) => h('th', { text: t })))), h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', { colspan: heads.length, class: 'muted', text: empty })))));
}

const iso = (ms) => (typeof ms === 'number' ? new Date(ms).toISOString() : null);

/** One upstream's line: "up since …" / "down since … — error"; unknown when this node does not check it. */
function upstreamLine(url, s) {
  if (!s) return h('div', {}, h('span', { class: 'mono', text: url }), h('span', { class: 'muted', text: ' — not checked by this node' }));
  return h(
    'div',
    { class: 'upstream' },
    h('span', { class: 'mono', text: url }),
    ' ',
    h('span', { class: s.up ? 'notice' : 'error', text: s.up ? 'up' : 'down' }),
    h('span', { text: ` since ${when(iso(s.since))}` }),
    s.lastError && !s.up ? h('span', { class: 'error', text: ` — ${s.lastError}` }) : null,
  );
}

/** Where a certificate's renewal stands: an order in progress, the last failure, or when it renews. */
function renewal(c, renewBeforeDays) {
  if (c.lease || (c.requested && !c.notAfter)) return 'ordering…';
  if (c.lastAttempt?.error) return `failed ${when(c.lastAttempt.at)}: ${c.lastAttempt.error}${c.lastAttempt.failures > 1 ? ` (${c.lastAttempt.failures} failures)` : ''}`;
  if (c.requested) return 'ordering…';
  if (c.notAfter && renewBeforeDays !== null) return `renews after ${when(iso(Date.parse(c.notAfter) - renewBeforeDays * 86400_000))}`;
  return '—';
}

export async function render(root) {
  // Health is this node's view; a token without ListUpstreamHealth still sees routes and certificates.
  const [routes, certs, health] = await Promise.all([get('ListRoutes'), get('ListCertificates'), get('ListUpstreamHealth').catch(() => null)]);
  const states = new Map((health?.upstreams ?? []).map((s) => [s.url, s]));
  const renewBeforeDays = health?.renewBeforeDays ?? null;
  const target = (r) => (r.upstreams?.length ? (health?.frontOnThisNode ? r.upstreams.map((u) => upstreamLine(u, states.get(u))) : [h('div', { text: r.target }), h('div', { class: 'muted', text: health ? 'health: this node runs no front' : 'health: not available to this token' })]) : r.target);
  root.append(
    h('h1', { text: 'Front' }),
    h('h2', { text: 'Routes' }),
    table('routes', ['Host', 'Path', 'Target', 'Created'], routes.map((r) => h('tr', {}, h('td', { text: r.host }), h('td', { class: 'mono', text: r.path }), h('td', {}, target(r)), h('td', { text: when(r.created) }))), 'No routes (grenier route add).'),
    h('h2', { text: 'Certificates' }),
    table(
      'certs',
      ['Host', 'Expires', 'Days left', 'Issuer', 'Renewal', 'Last attempt'],
      certs.map((c) =>
        h(
          'tr',
          { class: c.daysLeft !== null && c.daysLeft < 14 ? 'error' : undefined },
          h('td', { text: c.host }),
          h('td', { text: c.notAfter ? when(c.notAfter) : c.requested ? 'ordering…' : '—' }),
          h('td', { text: c.daysLeft ?? '—' }),
          h('td', { text: c.issuer ?? '—' }),
          h('td', { class: 'renewal', text: renewal(c, renewBeforeDays) }),
          h('td', { text: c.lastAttempt ? `${when(c.lastAttempt.at)}${c.lastAttempt.error ? ` — ${c.lastAttempt.error}` : ''}` : '—' }),
        ),
      ),
      'No certificates.',
    ),
  );
}
