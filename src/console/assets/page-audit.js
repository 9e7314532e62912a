// The audit log: every admin action with who, what, when, on which node and the result, newest
// first, a page at a time.
import { h, say, when } from './dom.js';
import { get } from './api.js';

export async function render(root) {
  const out = h('div');
  const tbody = h('tbody');
  const more = h('button', { type: 'button', class: 'secondary', text: 'Older events' });
  const whoIn = h('input', { id: 'audit-who', type: 'search', placeholder: 'token or key name' });
  const filter = h('button', { type: 'submit', text: 'Filter' });
  const form = h('form', { class: 'inline', 'aria-label': 'Filter the audit log' }, h('label', { for: 'audit-who' }, 'Who', whoIn), filter);
  let next = null;
  async function page(reset) {
    try {
      const r = await get('ListAuditEvents', { limit: 100, after: reset ? undefined : next, who: whoIn.value.trim() || undefined });
      if (reset) tbody.replaceChildren();
      for (const e of r.events)
        tbody.appendChild(h('tr', { class: e.status >= 400 ? 'error' : undefined }, h('td', { text: when(e.time) }), h('td', { text: e.who }), h('td', { text: e.op }), h('td', { text: e.target }), h('td', { text: String(e.status) }), h('td', { class: 'mono', text: e.node.slice(0, 16) })));
      next = r.next;
      more.hidden = !next;
    } catch (e) {
      say(out, e.message);
    }
  }
  more.addEventListener('click', () => page(false));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    page(true);
  });
  root.append(
    h('h1', { text: 'Audit log' }),
    form,
    out,
    h('div', { class: 'table-wrap' }, h('table', { id: 'audit' }, h('thead', {}, h('tr', {}, ['When (UTC)', 'Who', 'Operation', 'Target', 'Result', 'Node'].map((t) => h('th', { text: t })))), tbody)),
    more,
  );
  await page(true);
}
