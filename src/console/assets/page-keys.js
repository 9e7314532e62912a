// Access keys: list, create (the secret is shown once, here), and for one key its bucket
// permissions, its create-bucket right and how many sites it may create itself; delete.
import { h, clear, say, action, when } from './dom.js';
import { get, post } from './api.js';

export async function render(root) {
  const msg = h('div');
  const tbody = h('tbody');
  const detail = h('div', { class: 'detail' });
  const name = h('input', { id: 'new-key', placeholder: 'who or what uses it', autocomplete: 'off' });
  const cb = h('input', { type: 'checkbox', id: 'new-key-cb' });
  const create = h('button', { type: 'submit', text: 'Create key' });
  const form = h('form', { class: 'inline', 'aria-label': 'Create an access key' }, h('label', { for: 'new-key' }, 'Name', name), h('label', { class: 'check', for: 'new-key-cb' }, cb, ' may create buckets'), create);

  async function load() {
    const keys = await get('ListKeys');
    clear(tbody);
    for (const k of keys.sort((a, z) => (a.name < z.name ? -1 : 1))) {
      tbody.appendChild(h('tr', { 'data-key': k.id }, h('td', {}, h('button', { type: 'button', class: 'secondary', text: k.name || '(unnamed)', onclick: () => show(k.id) })), h('td', { class: 'mono', text: k.id }), h('td', { text: when(k.created) })));
    }
    if (keys.length === 0) tbody.appendChild(h('tr', {}, h('td', { colspan: 3, class: 'muted', text: 'No keys yet.' })));
  }

  async function show(id, secret) {
    clear(detail);
    const out = h('div');
    detail.appendChild(out);
    let k;
    try {
      k = await get('GetKeyInfo', { id });
    } catch (e) {
      return say(out, e.message);
    }
    const card = h('section', { class: 'card', 'aria-label': `key ${k.name}` });
    const toggle = h('button', { type: 'button', class: 'secondary', text: k.permissions.createBucket ? 'Revoke create-bucket right' : 'Allow creating buckets' });
    toggle.addEventListener(
      'click',
      action(toggle, out, async () => {
        await post('UpdateKey', { [k.permissions.createBucket ? 'deny' : 'allow']: { createBucket: true } }, { id });
        await show(id);
      }),
    );
    const smax = h('input', { id: `sites-max-${id}`, type: 'number', min: 0, max: 1000, value: String(k.sitesMax ?? 0) });
    const setS = h('button', { type: 'submit', text: 'Set' });
    const sForm = h('form', { class: 'inline', 'aria-label': `sites ${k.name} may create` }, h('label', { for: `sites-max-${id}` }, `Sites it may create itself (has ${k.ownSites ?? 0})`, smax), setS);
    sForm.addEventListener(
      'submit',
      action(setS, out, async () => {
        const n = Number(smax.value);
        if (!Number.isInteger(n) || n < 0) throw new Error(`"${smax.value}" is not a whole number of sites`);
        await post('UpdateKey', { sitesMax: n }, { id });
        await show(id);
      }),
    );
    const del = h('button', { type: 'button', class: 'danger', text: 'Delete key' });
    del.addEventListener(
      'click',
      action(del, out, async () => {
        if (!confirm(`Delete key ${k.name} (${id})? Its bucket permissions go with it.`)) return;
        await post('DeleteKey', {}, { id });
        clear(detail);
        await load();
      }),
    );
    card.append(
      h('h2', { text: k.name }),
      secret ? h('div', {}, h('p', { class: 'notice', text: 'Secret key — copy it now, it is not shown again:' }), h('p', { class: 'secret', id: 'new-secret', text: secret })) : '', // native append shows null as "null"
      h('dl', { class: 'kv' }, h('dt', { text: 'Access key ID' }), h('dd', { class: 'mono', text: k.accessKeyId }), h('dt', { text: 'Created' }), h('dd', { text: when(k.created) }), h('dt', { text: 'Create buckets' }), h('dd', { text: k.permissions.createBucket ? 'yes' : 'no' })),
      h('div', { class: 'row' }, toggle, del),
      sForm,
      h('h2', { text: 'Bucket permissions' }),
      k.buckets.length
        ? h(
            'table',
            {},
            h('thead', {}, h('tr', {}, h('th', { text: 'Bucket' }), h('th', { text: 'Permissions' }))),
            h('tbody', {}, k.buckets.map((b) => h('tr', {}, h('td', { text: b.globalAliases.join(', ') || b.id.slice(0, 16) }), h('td', { text: ['read', 'write', 'owner'].filter((f) => b.permissions[f]).join(', ') })))),
          )
        : h('p', { class: 'muted', text: 'No bucket permissions (give some from the Buckets page).' }),
    );
    detail.appendChild(card);
  }

  form.addEventListener(
    'submit',
    action(create, msg, async () => {
      const k = await post('CreateKey', { name: name.value.trim() || undefined, allow: cb.checked ? { createBucket: true } : undefined });
      name.value = '';
      await load();
      await show(k.accessKeyId, k.secretAccessKey);
    }),
  );
  root.append(
    h('h1', { text: 'Access keys' }),
    msg,
    form,
    h('div', { class: 'table-wrap' }, h('table', { id: 'keys' }, h('thead', {}, h('tr', {}, h('th', { text: 'Name' }), h('th', { text: 'ID' }), h('th', { text: 'Created' }))), tbody)),
    detail,
  );
  await load();
}
