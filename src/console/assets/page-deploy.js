// Deploy from the browser: a chosen folder is hashed in the page (SHA-256, SubtleCrypto), the node
// is asked which contents it lacks, only those are sent (with progress), then the new file list is
// published in one atomic switch — the same protocol and order as `grenier site deploy`
// (cli/deploy.ts: GetSiteDeploy, CheckSiteBlobs, PutSiteBlob, PublishSiteDeploy).
import { h, say, bytes } from './dom.js';
import { get, post, putSiteBlob, ApiError } from './api.js';
import { sha256Bytes } from './sign.js';

/** Files in one deploy; the manifest must also fit the node's manifest_body_bytes_max (16 MiB by default). */
export const DEPLOY_FILES_MAX = 50_000;
/** One file at most: it is hashed whole in memory (SubtleCrypto has no streaming digest; the
 *  plain-JS fallback, over HTTP on a LAN address, holds a padded copy too), one file at a time. */
export const DEPLOY_FILE_BYTES_MAX = 256 * 1024 * 1024;
const MANIFEST_BYTES_MAX = 16 * 1024 * 1024;
/** Hashes per CheckSiteBlobs request, as the CLI. */
const CHECK_BATCH = 5000;
const CONCURRENCY = 4;
const ATTEMPTS = 3;

/** Why a path cannot be served (model/site.ts manifestPathError: the node checks it again). */
export function pathError(p) {
  if (p === '' || new TextEncoder().encode(p).length > 1024) return 'must be 1 to 1024 bytes';
  if (p.includes('\\') || p.includes('\0')) return 'must not contain "\\" or NUL';
  if (p.split('/').some((s) => s === '' || s === '.' || s === '..')) return 'must not contain empty, "." or ".." segments';
  if (p === '.grenier' || p.startsWith('.grenier/')) return 'the .grenier/ directory is reserved';
  return undefined;
}

function hex(buf) {
  return Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** SHA-256 (hex) of a file: WebCrypto where the page has it (HTTPS, localhost), else sign.js's. */
async function sha256File(file) {
  const data = await file.arrayBuffer();
  const subtle = globalThis.crypto?.subtle;
  return hex(subtle ? await subtle.digest('SHA-256', data) : sha256Bytes(new Uint8Array(data)));
}

/** The chosen folder's files as site paths (the folder's own name dropped), bad ones as warnings. */
export function sitePaths(fileList) {
  const files = [];
  const skipped = [];
  for (const f of fileList) {
    const rel = (f.webkitRelativePath || f.name).split('/').slice(1).join('/') || f.name;
    const why = pathError(rel);
    if (why) skipped.push(`${rel}: ${why}`);
    else if (f.size > DEPLOY_FILE_BYTES_MAX) skipped.push(`${rel}: larger than ${bytes(DEPLOY_FILE_BYTES_MAX)}`);
    else files.push({ path: rel, file: f });
  }
  files.sort((a, z) => (a.path < z.path ? -1 : 1));
  return { files, skipped };
}

/** Runs `fn` over `items`, at most `limit` at once; the first failure stops new starts. */
async function pool(items, limit, fn) {
  let next = 0;
  let failed;
  const worker = async () => {
    while (failed === undefined && next < items.length) {
      const x = items[next++];
      try {
        await fn(x);
      } catch (e) {
        failed ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failed !== undefined) throw failed;
}

/** Deploys `chosen` ({path, file}[]) to `site`; `report(text, done, total)` follows each step. */
export async function deployFiles(site, chosen, report) {
  if (chosen.length === 0) throw new Error('the folder has no files to deploy');
  if (chosen.length > DEPLOY_FILES_MAX) throw new Error(`${chosen.length} files: a deploy takes at most ${DEPLOY_FILES_MAX}`);
  const files = {};
  const bySha = new Map();
  const hashBytes = chosen.reduce((n, c) => n + c.file.size, 0);
  let hashed = 0;
  // One file in memory at a time: a folder of large files must not exhaust the tab.
  for (const c of chosen) {
    report(`Hashing ${c.path}`, hashed, hashBytes);
    const sha = await sha256File(c.file);
    // An empty type: the web server picks it from the name as for the CLI's deploys (web/mime.ts).
    files[c.path] = { sha256: sha, size: c.file.size, type: '' };
    if (!bySha.has(sha)) bySha.set(sha, c);
    hashed += c.file.size;
  }
  const manifestBytes = new TextEncoder().encode(JSON.stringify({ files })).length;
  if (manifestBytes > MANIFEST_BYTES_MAX) throw new Error(`the file list is ${bytes(manifestBytes)}: at most ${bytes(MANIFEST_BYTES_MAX)} (deploy fewer files)`);
  const current = await get('GetSiteDeploy', { site });
  const have = new Set(Object.values(current?.files ?? {}).map((f) => f.sha256));
  const upload = [...bySha.keys()].filter((s) => !have.has(s)).sort();
  // The node decides what is missing: blobs of an interrupted deploy are already there.
  const missing = [];
  for (let i = 0; i < upload.length; i += CHECK_BATCH) missing.push(...(await post('CheckSiteBlobs', { sha256: upload.slice(i, i + CHECK_BATCH) }, { site })).missing);
  const todo = missing.map((s) => ({ sha: s, ...bySha.get(s) }));
  const total = todo.reduce((n, t) => n + t.file.size, 0);
  const inFlight = new Map();
  let done = 0;
  const sentSoFar = () => done + [...inFlight.values()].reduce((n, k) => n + k, 0);
  report(`Sending ${todo.length} of ${chosen.length} files`, 0, total);
  await pool(todo, CONCURRENCY, async (t) => {
    for (let attempt = 1; ; attempt++) {
      try {
        await putSiteBlob(site, t.sha, t.file, {
          onProgress: (n) => {
            inFlight.set(t.sha, n);
            report(`Sending ${todo.length} of ${chosen.length} files`, sentSoFar(), total);
          },
        });
        inFlight.delete(t.sha);
        done += t.file.size;
        report(`Sending ${todo.length} of ${chosen.length} files`, sentSoFar(), total);
        return;
      } catch (e) {
        inFlight.delete(t.sha);
        // Refusals (quota, rights, bad data) will not change on retry; a dropped connection may.
        if ((e instanceof ApiError && e.status > 0 && e.status < 500) || attempt >= ATTEMPTS) throw e;
        await new Promise((r) => setTimeout(r, 300 * attempt));
      }
    }
  });
  report('Switching to the new deploy', total, total);
  const r = await post('PublishSiteDeploy', { files }, { site });
  return { id: r.id, files: chosen.length, uploaded: todo.length, bytes: total };
}

/** The "Deploy a folder" form of a site card; `done(message)` reloads the cards once published. */
export function deployForm(site, bucketId, done) {
  const input = h('input', { type: 'file', id: `deploy-${bucketId}`, webkitdirectory: '', multiple: '' });
  const go = h('button', { type: 'submit', text: 'Deploy folder', disabled: true });
  const bar = h('progress', { max: 1, value: 0, hidden: true, 'aria-label': `deploy progress of ${site}` });
  const status = h('span', { class: 'muted', 'aria-live': 'polite' });
  const out = h('div');
  input.addEventListener('change', () => {
    const { files, skipped } = sitePaths(input.files ?? []);
    go.disabled = files.length === 0;
    status.textContent = `${files.length} files, ${bytes(files.reduce((n, f) => n + f.file.size, 0))}${skipped.length ? ` (${skipped.length} skipped)` : ''}`;
    say(out, skipped.length ? `Skipped: ${skipped.slice(0, 5).join('; ')}${skipped.length > 5 ? '…' : ''}` : '');
  });
  const form = h('form', { class: 'inline', 'aria-label': `deploy to ${site}` }, h('label', { for: `deploy-${bucketId}` }, 'Folder to deploy', input), go, bar, status, out);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const { files } = sitePaths(input.files ?? []);
    go.disabled = input.disabled = true;
    bar.hidden = false;
    say(out, '');
    try {
      const r = await deployFiles(site, files, (text, n, total) => {
        status.textContent = total ? `${text} — ${bytes(n)} of ${bytes(total)}` : text;
        bar.max = Math.max(total, 1);
        bar.value = total ? n : 1;
      });
      status.textContent = '';
      await done(`Deployed ${r.id} to ${site}: ${r.files} file${r.files === 1 ? '' : 's'}, ${r.uploaded} sent (${bytes(r.bytes)}).`);
    } catch (e) {
      say(out, e?.message ?? String(e));
      go.disabled = input.disabled = false;
    } finally {
      bar.hidden = true;
    }
  });
  return form;
}
