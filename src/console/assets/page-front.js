// The HTTPS front: routes (host + path → website, S3 or upstreams) and certificates with expiry.
import { h, when } from './dom.js';
import { get } from './api.js';

function table(id, heads, rows, empty) {
  return h('div', { class: 'table-wrap' }, h('table', { id }, h('thead', {}, h('tr', {}, heads.map((t) => h('th', { text: t })))), h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', { colspan: heads.length, class: 'muted', text: empty })))));
}

export async function render(root) {
  const [routes, certs] = await Promise.all([get('ListRoutes'), get('ListCertificates')]);
  root.append(
    h('h1', { text: 'Front' }),
    h('h2', { text: 'Routes' }),
    table('routes', ['Host', 'Path', 'Target', 'Created'], routes.map((r) => h('tr', {}, h('td', { text: r.host }), h('td', { class: 'mono', text: r.path }), h('td', { text: r.target }), h('td', { text: when(r.created) }))), 'No routes (grenier route add).'),
    h('h2', { text: 'Certificates' }),
    table(
      'certs',
      ['Host', 'Expires', 'Days left', 'Issuer', 'Last attempt'],
      certs.map((c) =>
        h(
          'tr',
          { class: c.daysLeft !== null && c.daysLeft < 14 ? 'error' : undefined },
          h('td', { text: c.host }),
          h('td', { text: c.notAfter ? when(c.notAfter) : c.requested ? 'ordering…' : '—' }),
          h('td', { text: c.daysLeft ?? '—' }),
          h('td', { text: c.issuer ?? '—' }),
          h('td', { text: c.lastAttempt ? `${when(c.lastAttempt.at)}${c.lastAttempt.error ? ` — ${c.lastAttempt.error}` : ''}` : '—' }),
        ),
      ),
      'No certificates.',
    ),
  );
}
