// Buckets: pages of the list asked from the node (ListBuckets ?limit=&start=&search=, so a page
// costs the same at 50,000 buckets as at 50), searched there by name or id prefix; create, delete,
// website access with its public URL, quotas, key permissions.
import { h, clear, say, action, bytes, when, parseBytes } from './dom.js';
import { get, getPage, post } from './api.js';

const PAGE = 50;

function aliasOf(b) {
  return b.globalAliases?.[0] ?? b.localAliases?.[0]?.alias ?? b.id.slice(0, 16);
}

export async function render(root) {
  // starts[i] is the token page i was asked from (null: the beginning); next is the following page's.
  let starts = [null];
  let nextStart = null;
  let rows = [];
  let seq = 0;
  const msg = h('div');
  const search = h('input', { id: 'bucket-search', type: 'search', placeholder: 'name or id', 'aria-label': 'Search buckets' });
  const count = h('span', { class: 'muted', 'aria-live': 'polite' });
  const tbody = h('tbody');
  const prev = h('button', { type: 'button', class: 'secondary', text: '← Previous' });
  const next = h('button', { type: 'button', class: 'secondary', text: 'Next →' });
  const pos = h('span', { class: 'muted' });
  const detail = h('div', { class: 'detail' });
  const newName = h('input', { id: 'new-bucket', required: true, placeholder: 'my-bucket', autocomplete: 'off' });
  const create = h('button', { type: 'submit', text: 'Create bucket' });
  const createForm = h('form', { class: 'inline', 'aria-label': 'Create a bucket' }, h('label', { for: 'new-bucket' }, 'New bucket name', newName), create);

  function draw() {
    clear(tbody);
    for (const b of rows) {
      const open = h('button', { type: 'button', class: 'secondary', text: aliasOf(b), onclick: () => showBucket(b.id) });
      tbody.appendChild(h('tr', { 'data-bucket': aliasOf(b) }, h('td', {}, open), h('td', { class: 'mono', text: b.id.slice(0, 16) }), h('td', { text: when(b.created) })));
    }
    const q = search.value.trim();
    if (rows.length === 0) tbody.appendChild(h('tr', {}, h('td', { colspan: 3, class: 'muted', text: q ? 'No bucket matches.' : starts.length > 1 ? 'No more buckets.' : 'No buckets yet.' })));
    count.textContent = q ? `${rows.length} matching on this page` : `${rows.length} buckets on this page`;
    pos.textContent = `page ${starts.length}`;
    prev.disabled = starts.length === 1;
    next.disabled = nextStart === null;
  }

  /** Shows the last page of `path` (the tokens pages were asked from), kept only once it is shown;
   *  a search whose scan budget ran out before finding anything goes on by itself a few times. */
  async function show(path) {
    const mine = ++seq;
    const q = search.value.trim();
    const page = await getPage('ListBuckets', 'buckets', { limit: PAGE, search: q, start: path.at(-1) });
    if (mine !== seq) return; // a newer search or page replaced this one
    starts = path;
    rows = page.buckets.map((b) => ({ ...b, globalAliases: b.globalAliases ?? [] }));
    nextStart = page.nextStart;
    draw();
  }

  async function load() {
    await show([null]);
  }

  async function filter() {
    try {
      await load();
    } catch (e) {
      say(msg, e.message);
    }
  }

  async function showBucket(id) {
    clear(detail);
    const out = h('div');
    detail.appendChild(out);
    let b;
    try {
      b = await get('GetBucketInfo', { id });
    } catch (e) {
      return say(out, e.message);
    }
    const name = aliasOf(b);
    const card = h('section', { class: 'card', 'aria-label': `bucket ${name}` });
    detail.appendChild(card);
    const web = b.websiteAccess;
    const meta = await metaInfo();
    const url = meta.webUrl && b.globalAliases[0] ? meta.webUrl.replace('{bucket}', b.globalAliases[0]) : null;
    const webBtn = h('button', { type: 'button', text: web ? 'Turn website off' : 'Turn website on' });
    webBtn.addEventListener(
      'click',
      action(webBtn, out, async () => {
        await post('UpdateBucket', { websiteAccess: { enabled: !web } }, { id });
        await showBucket(id);
      }),
    );
    const maxSize = h('input', { id: 'q-size', value: b.quotas?.maxSize ? String(b.quotas.maxSize) : '', placeholder: 'no limit (e.g. 10GB)' });
    const maxObjects = h('input', { id: 'q-objects', value: b.quotas?.maxObjects ?? '', placeholder: 'no limit', inputmode: 'numeric' });
    const saveQ = h('button', { type: 'submit', text: 'Save quotas' });
    const qForm = h('form', { class: 'inline', 'aria-label': 'Quotas' }, h('label', { for: 'q-size' }, 'Max size', maxSize), h('label', { for: 'q-objects' }, 'Max objects', maxObjects), saveQ);
    qForm.addEventListener(
      'submit',
      action(saveQ, out, async () => {
        const s = maxSize.value.trim();
        const o = maxObjects.value.trim();
        const size = s ? parseBytes(s) : null;
        if (size === undefined) throw new Error(`"${s}" is not a size (e.g. 500MB, 10GB)`);
        if (o && !/^\d+$/.test(o)) throw new Error('max objects must be a whole number');
        await post('UpdateBucket', { quotas: { maxSize: size, maxObjects: o ? Number(o) : null } }, { id });
        await showBucket(id);
        say(out, 'Quotas saved.', 'notice');
      }),
    );
    const keyId = h('input', { id: 'perm-key', placeholder: 'GK…', required: true });
    const perms = ['read', 'write', 'owner'].map((p) => h('input', { type: 'checkbox', id: `perm-${p}`, checked: p !== 'owner' }));
    const allow = h('button', { type: 'submit', text: 'Allow' });
    const pForm = h(
      'form',
      { class: 'inline', 'aria-label': 'Give a key access' },
      h('label', { for: 'perm-key' }, 'Access key ID', keyId),
      ['read', 'write', 'owner'].map((p, i) => h('label', { class: 'check', for: `perm-${p}` }, perms[i], ` ${p}`)),
      allow,
    );
    pForm.addEventListener(
      'submit',
      action(allow, out, async () => {
        const [read, write, owner] = perms.map((c) => c.checked);
        await post('AllowBucketKey', { bucketId: id, accessKeyId: keyId.value.trim(), permissions: { read, write, owner } });
        await showBucket(id);
      }),
    );
    const del = h('button', { type: 'button', class: 'danger', text: 'Delete bucket' });
    del.addEventListener(
      'click',
      action(del, out, async () => {
        if (!confirm(`Delete bucket ${name}? It must be empty.`)) return;
        await post('DeleteBucket', {}, { id });
        clear(detail);
        await load();
      }),
    );
    card.append(
      h('h2', { text: name }),
      h(
        'dl',
        { class: 'kv' },
        h('dt', { text: 'ID' }),
        h('dd', { class: 'mono', text: b.id }),
        h('dt', { text: 'Aliases' }),
        h('dd', { text: b.globalAliases.join(', ') || '—' }),
        h('dt', { text: 'Objects' }),
        h('dd', { text: `${b.objects} (${bytes(b.bytes)})` }),
        h('dt', { text: 'Website' }),
        h('dd', {}, web ? 'on' : 'off', web && url ? [' — ', h('a', { href: url, rel: 'noopener noreferrer', target: '_blank', text: url })] : null),
      ),
      h('div', { class: 'row' }, webBtn, b.globalAliases[0] ? h('a', { href: `#/objects/${encodeURIComponent(b.globalAliases[0])}/`, text: 'Browse objects' }) : null),
      qForm,
      h('h2', { text: 'Keys' }),
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          {},
          h('thead', {}, h('tr', {}, h('th', { text: 'Key' }), h('th', { text: 'Name' }), h('th', { text: 'Permissions' }), h('th', {}))),
          h(
            'tbody',
            {},
            b.keys.map((k) => {
              const deny = h('button', { type: 'button', class: 'secondary', text: 'Remove' });
              deny.addEventListener(
                'click',
                action(deny, out, async () => {
                  await post('DenyBucketKey', { bucketId: id, accessKeyId: k.accessKeyId, permissions: { read: true, write: true, owner: true } });
                  await showBucket(id);
                }),
              );
              const p = k.permissions;
              return h('tr', {}, h('td', { class: 'mono', text: k.accessKeyId }), h('td', { text: k.name }), h('td', { text: ['read', 'write', 'owner'].filter((f) => p[f]).join(', ') }), h('td', {}, deny));
            }),
          ),
        ),
      ),
      pForm,
      h('div', { class: 'row' }, del),
    );
  }

  createForm.addEventListener(
    'submit',
    action(create, msg, async () => {
      const name = newName.value.trim();
      const b = await post('CreateBucket', { globalAlias: name });
      newName.value = '';
      await load();
      say(msg, `Bucket ${name} created.`, 'notice');
      await showBucket(b.id);
    }),
  );
  let t = null;
  search.addEventListener('input', () => {
    clearTimeout(t);
    t = setTimeout(filter, 200);
  });
  // Not action(): draw() decides whether the buttons are enabled.
  function turn(path) {
    prev.disabled = next.disabled = true;
    say(msg, '');
    show(path).catch((e) => {
      say(msg, e?.message ?? String(e));
      draw();
    });
  }
  prev.addEventListener('click', () => turn(starts.slice(0, -1)));
  next.addEventListener('click', () => turn([...starts, nextStart]));
  root.append(
    h('h1', { text: 'Buckets' }),
    msg,
    createForm,
    h('div', { class: 'row' }, h('label', { for: 'bucket-search' }, 'Search', search), count),
    h('div', { class: 'table-wrap' }, h('table', { id: 'buckets' }, h('thead', {}, h('tr', {}, h('th', { text: 'Name' }), h('th', { text: 'ID' }), h('th', { text: 'Created' }))), tbody)),
    h('div', { class: 'pager' }, prev, pos, next),
    detail,
  );
  await load();
}

let meta;
/** What the page needs of the node's configuration (the websites' root domain). */
export async function metaInfo() {
  if (!meta) {
    try {
      const r = await fetch('/console/meta.json', { cache: 'no-store', credentials: 'omit' });
      meta = r.ok ? await r.json() : {};
    } catch {
      meta = {};
    }
  }
  return meta;
}
