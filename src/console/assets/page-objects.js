// Object browser (#/objects/<bucket>/<prefix>): prefixes as folders (ListObjectsV2 with "/",
// a page of 200 at a time), upload many files with progress, download, delete, and share links
// presigned on the node. Requests go through the node with a key the admin picks.
import { h, clear, say, action, bytes, when } from './dom.js';
import { get, post, s3 } from './api.js';

const PAGE_KEYS = 200;
const SHARE_EXPIRY = [
  [3600, '1 hour'],
  [86400, '1 day'],
  [7 * 86400, '7 days (the most S3 allows)'],
];

function parseHash() {
  const parts = location.hash.replace(/^#\/?/, '').split('/');
  const dec = (s) => {
    try {
      return decodeURIComponent(s ?? '');
    } catch {
      return '';
    }
  };
  return { bucket: dec(parts[1]), prefix: dec(parts.slice(2).join('/')) };
}

function hashOf(bucket, prefix = '') {
  return `#/objects/${encodeURIComponent(bucket)}/${encodeURIComponent(prefix)}`;
}

const KEY_CHOICE = 'grenier.objects.key.';

export async function render(root) {
  const { bucket, prefix } = parseHash();
  root.appendChild(h('h1', { text: 'Objects' }));
  if (!bucket) return chooseBucket(root);
  const info = await get('GetBucketInfo', { globalAlias: bucket });
  const msg = h('div');
  // The keys allowed on this bucket; the admin picks which one the node signs with.
  const usable = info.keys.filter((k) => k.permissions.read || k.permissions.write);
  const keySel = h('select', { id: 'obj-key' }, usable.map((k) => h('option', { value: k.accessKeyId, text: `${k.name || '(no name)'} — ${k.accessKeyId} (${['read', 'write', 'owner'].filter((p) => k.permissions[p]).join(', ')})` })));
  const saved = sessionStorage.getItem(KEY_CHOICE + bucket);
  if (saved && usable.some((k) => k.accessKeyId === saved)) keySel.value = saved;
  keySel.addEventListener('change', () => {
    sessionStorage.setItem(KEY_CHOICE + bucket, keySel.value);
    list();
  });
  const crumbs = h('nav', { class: 'crumbs', 'aria-label': 'Folder' });
  const tbody = h('tbody');
  const more = h('button', { type: 'button', class: 'secondary', text: 'More…', hidden: true });
  const share = h('div', { class: 'detail' });
  const folderIn = h('input', { id: 'upload-folder', value: prefix, placeholder: '(top level)', autocomplete: 'off' });
  const filesIn = h('input', { id: 'upload-files', type: 'file', multiple: true });
  const uploadBtn = h('button', { type: 'submit', text: 'Upload' });
  const progress = h('ul', { class: 'progress', id: 'upload-progress', 'aria-live': 'polite' });
  const upForm = h('form', { class: 'inline', 'aria-label': 'Upload files' }, h('label', { for: 'upload-folder' }, 'Into folder', folderIn), h('label', { for: 'upload-files' }, 'Files', filesIn), uploadBtn);
  let token = null;

  crumbs.appendChild(h('a', { href: hashOf(bucket), text: bucket }));
  let acc = '';
  for (const seg of prefix.split('/').filter(Boolean)) {
    acc += seg + '/';
    crumbs.append(' / ', h('a', { href: hashOf(bucket, acc), text: seg }));
  }

  const akid = () => keySel.value;

  async function list(append = false) {
    if (!append) {
      token = null;
      clear(tbody);
    }
    const xml = await s3('GET', bucket, '', { accessKeyId: akid(), query: { 'list-type': 2, delimiter: '/', prefix, 'max-keys': PAGE_KEYS, 'continuation-token': token } });
    const doc = new DOMParser().parseFromString(xml, 'application/xml');
    const text = (el, tag) => el.getElementsByTagName(tag)[0]?.textContent ?? '';
    for (const p of doc.getElementsByTagName('CommonPrefixes')) {
      const name = text(p, 'Prefix');
      tbody.appendChild(h('tr', { 'data-prefix': name }, h('td', {}, h('a', { href: hashOf(bucket, name), text: `📁 ${name.slice(prefix.length)}` })), h('td', {}), h('td', {}), h('td', {})));
    }
    for (const c of doc.getElementsByTagName('Contents')) {
      const key = text(c, 'Key');
      tbody.appendChild(objectRow(key, Number(text(c, 'Size')), text(c, 'LastModified')));
    }
    if (!tbody.firstChild) tbody.appendChild(h('tr', {}, h('td', { colspan: 4, class: 'muted', text: prefix ? 'This folder is empty.' : 'This bucket is empty.' })));
    token = text(doc, 'IsTruncated') === 'true' ? text(doc, 'NextContinuationToken') : null;
    more.hidden = !token;
  }

  function objectRow(key, size, modified) {
    const out = h('div');
    const dl = h('button', { type: 'button', class: 'secondary', text: 'Download' });
    dl.addEventListener('click', action(dl, out, async () => {
      const blob = await s3('GET', bucket, key, { accessKeyId: akid() });
      const url = URL.createObjectURL(blob);
      const a = document.createElement('a');
      a.href = url; // a blob: URL made here, not data from the bucket
      a.download = key.slice(key.lastIndexOf('/') + 1) || 'download';
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    }));
    const sh = h('button', { type: 'button', class: 'secondary', text: 'Share' });
    sh.addEventListener('click', () => showShare(key));
    const del = h('button', { type: 'button', class: 'danger', text: 'Delete' });
    del.addEventListener('click', action(del, out, async () => {
      if (!confirm(`Delete ${key}?`)) return;
      await s3('DELETE', bucket, key, { accessKeyId: akid() });
      await list();
      say(msg, `Deleted ${key}.`, 'notice');
    }));
    return h('tr', { 'data-key': key }, h('td', { class: 'mono', text: key.slice(prefix.length) }), h('td', { text: bytes(size) }), h('td', { text: when(modified) }), h('td', {}, h('div', { class: 'row' }, dl, sh, del), out));
  }

  function showShare(key) {
    clear(share);
    const out = h('div');
    const exp = h('select', { id: 'share-expiry' }, SHARE_EXPIRY.map(([s, t]) => h('option', { value: s, text: t })));
    const endpoint = h('input', { id: 'share-endpoint', placeholder: `${location.protocol}//${location.hostname}:<S3 port>`, autocomplete: 'off' });
    const link = h('input', { id: 'share-link', readonly: true, 'aria-label': 'Share link' });
    const make = h('button', { type: 'submit', text: 'Make link' });
    const copy = h('button', { type: 'button', class: 'secondary', text: 'Copy' });
    copy.addEventListener('click', () => {
      link.select();
      navigator.clipboard?.writeText(link.value).catch(() => {});
    });
    const f = h('form', { class: 'inline', 'aria-label': 'Share link' }, h('label', { for: 'share-expiry' }, 'Valid for', exp), h('label', { for: 'share-endpoint' }, 'S3 endpoint (empty: this host)', endpoint), make);
    f.addEventListener('submit', action(make, out, async () => {
      const r = await post('PresignObjectUrl', { bucket, key, accessKeyId: akid(), method: 'GET', expiresSecs: Number(exp.value), endpoint: endpoint.value.trim() || undefined });
      link.value = r.url;
      say(out, `Anyone with this link can download ${key} until ${r.expiresAt.slice(0, 16).replace('T', ' ')} UTC.`, 'notice');
    }));
    share.append(h('section', { class: 'card', 'aria-label': 'Share' }, h('h2', { text: `Share ${key}` }), f, h('div', { class: 'row' }, link, copy), out));
  }

  upForm.addEventListener('submit', action(uploadBtn, msg, async () => {
    let folder = folderIn.value.trim().replace(/^\/+/, '');
    if (folder && !folder.endsWith('/')) folder += '/';
    const files = [...filesIn.files];
    if (!files.length) throw new Error('Choose one or more files first.');
    clear(progress);
    let failed = 0;
    // One at a time: each shows its own bar, and a failure stops nothing else.
    for (const file of files) {
      const bar = h('progress', { max: file.size || 1, value: 0, 'aria-label': `upload of ${file.name}` });
      const state = h('span', { class: 'muted', text: ' waiting' });
      progress.appendChild(h('li', { 'data-file': file.name }, h('span', { class: 'mono', text: `${folder}${file.name} ` }), bar, state));
      try {
        await s3('PUT', bucket, folder + file.name, { accessKeyId: akid(), body: file, onProgress: (done) => {
          bar.value = done;
          state.textContent = ` ${bytes(done)} of ${bytes(file.size)}`;
        } });
        bar.value = file.size || 1;
        state.textContent = ' done';
      } catch (e) {
        failed++;
        state.textContent = ` failed: ${e.message}`;
        state.className = 'error';
      }
    }
    filesIn.value = '';
    say(msg, failed ? `${failed} of ${files.length} uploads failed (see below).` : `${files.length} file(s) uploaded.`, failed ? 'error' : 'notice');
    if (folder !== prefix && folder.startsWith(prefix)) location.hash = hashOf(bucket, folder);
    else await list();
  }));
  more.addEventListener('click', action(more, msg, () => list(true)));

  root.append(
    crumbs,
    usable.length ? h('label', { for: 'obj-key' }, 'Act with key', keySel) : h('p', { class: 'error', text: 'No key may read or write this bucket: allow one on the Buckets page first.' }),
    msg,
    upForm,
    progress,
    h('div', { class: 'table-wrap' }, h('table', { id: 'objects' }, h('thead', {}, h('tr', {}, ['Name', 'Size', 'Modified', ''].map((t) => h('th', { text: t })))), tbody)),
    h('div', { class: 'pager' }, more),
    share,
  );
  if (!usable.length) return;
  try {
    await list();
  } catch (e) {
    say(msg, e.message);
  }
}

async function chooseBucket(root) {
  const bs = await get('ListBuckets');
  const named = bs.filter((b) => b.globalAliases?.length).sort((a, z) => (a.globalAliases[0] < z.globalAliases[0] ? -1 : 1));
  root.append(
    h('p', { class: 'muted', text: 'Choose a bucket (buckets without a global alias cannot be browsed here).' }),
    h('ul', { id: 'object-buckets' }, named.map((b) => h('li', {}, h('a', { href: hashOf(b.globalAliases[0]), text: b.globalAliases[0] })))),
  );
}
