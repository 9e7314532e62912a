// Sites: usage against quota, the deploys kept (current and previous), deploy a folder from the
// browser (page-deploy.js), rollback, the quota (owners raise it up to 200 MB themselves, or ask
// for more), and for admins the pending requests. Owners a key allows create their own sites under
// the root domain, or ask for one at a custom domain (a request an admin approves).
import { h, clear, say, action, bytes, when, usageBar, parseBytes } from './dom.js';
import { get, getPage, post } from './api.js';
import { deployForm } from './page-deploy.js';

const PAGE = 20;

function deployLine(label, d) {
  return [h('dt', { text: label }), h('dd', { text: d ? `${d.id} — ${d.files} files, ${bytes(d.bytes)}, ${when(new Date(d.created).toISOString())}` : 'none' })];
}

export async function render(root, ctx) {
  const admin = ctx.session.kind === 'admin';
  const msg = h('div');
  const list = h('div', { class: 'grid', id: 'sites' });
  const requests = h('div');
  // starts[i]: the token page i was asked from (null: the beginning); nextStart: the next page's.
  let starts = [null];
  let nextStart = null;
  let seq = 0;
  const search = h('input', { id: 'site-search', type: 'search', placeholder: 'domain', 'aria-label': 'Search sites' });
  const prev = h('button', { type: 'button', class: 'secondary', text: '← Previous', disabled: true });
  const next = h('button', { type: 'button', class: 'secondary', text: 'Next →', disabled: true });
  const pos = h('span', { class: 'muted' });

  async function siteCard(s) {
    const card = h('section', { class: 'card', 'data-site': s.domain, 'aria-label': `site ${s.domain}` });
    const out = h('div');
    let info;
    try {
      info = await get('GetSiteInfo', { site: s.domain });
    } catch (e) {
      card.append(h('h2', { text: s.domain }), out);
      say(out, e.message);
      return card;
    }
    const rb = h('button', { type: 'button', class: 'secondary', text: 'Roll back to previous deploy', disabled: !info.previousDeploy });
    rb.addEventListener(
      'click',
      action(rb, out, async () => {
        if (!confirm(`Serve the previous deploy of ${s.domain} again?`)) return;
        await post('RollbackSite', {}, { site: s.domain });
        await load();
      }),
    );
    const size = h('input', { id: `quota-${s.bucketId}`, placeholder: '200MB' });
    const setQ = h('button', { type: 'submit', text: 'Set quota' });
    const qForm = h('form', { class: 'inline', 'aria-label': `quota of ${s.domain}` }, h('label', { for: `quota-${s.bucketId}` }, admin ? 'Quota' : 'Quota (up to 200 MB yourself)', size), setQ);
    qForm.addEventListener(
      'submit',
      action(setQ, out, async () => {
        const n = parseBytes(size.value);
        if (!n) throw new Error(`"${size.value}" is not a size (e.g. 200MB)`);
        await post('UpdateSiteQuota', { maxSize: n }, { site: s.domain });
        await load();
      }),
    );
    const want = h('input', { id: `req-${s.bucketId}`, placeholder: '1GB' });
    const why = h('input', { id: `why-${s.bucketId}`, placeholder: 'photos of the club', maxlength: 500 });
    const ask = h('button', { type: 'submit', text: 'Request more' });
    const rForm = h('form', { class: 'inline', 'aria-label': `request more for ${s.domain}` }, h('label', { for: `req-${s.bucketId}` }, 'Size', want), h('label', { for: `why-${s.bucketId}` }, 'Reason', why), ask);
    rForm.addEventListener(
      'submit',
      action(ask, out, async () => {
        const n = parseBytes(want.value);
        if (!n) throw new Error(`"${want.value}" is not a size (e.g. 1GB)`);
        await post('CreateQuotaRequest', { bytes: n, reason: why.value }, { site: s.domain });
        say(out, 'Request sent: an admin will approve or deny it.', 'notice');
        await loadRequests();
      }),
    );
    card.append(
      h('h2', {}, h('a', { href: `https://${s.domain}/`, rel: 'noopener noreferrer', target: '_blank', text: s.domain })),
      usageBar(info.usage.bytes, info.quotas.maxSize),
      h('dl', { class: 'kv' }, deployLine('Current deploy', info.currentDeploy), deployLine('Previous deploy', info.previousDeploy), h('dt', { text: 'Owners' }), h('dd', { class: 'mono', text: info.owners.join(', ') || '—' }), h('dt', { text: 'Pending requests' }), h('dd', { text: String(info.pendingQuotaRequests) })),
      deployForm(s.domain, s.bucketId, async (text) => {
        await load();
        say(msg, text, 'notice');
      }),
      h('div', { class: 'row' }, rb),
      qForm,
      rForm,
      out,
    );
    return card;
  }

  function newSiteForm() {
    const out = h('div');
    const name = h('input', { id: 'new-site', placeholder: 'blog or club.example.org', autocomplete: 'off', maxlength: 253 });
    const reason = h('input', { id: 'new-site-why', placeholder: 'for a custom domain: what it is for', maxlength: 500 });
    const go = h('button', { type: 'submit', text: 'Create site' });
    const form = h('form', { class: 'inline', 'aria-label': 'Create a site' }, h('label', { for: 'new-site' }, 'New site', name), h('label', { for: 'new-site-why' }, 'Reason (custom domain)', reason), go);
    form.addEventListener(
      'submit',
      action(go, out, async () => {
        const domain = name.value.trim();
        if (!domain) throw new Error('give the site a name, e.g. blog');
        try {
          const s = await post('CreateSite', { domain });
          say(msg, `Site ${s.domain} created.`, 'notice');
        } catch (e) {
          // A custom domain: ask an admin, with the reason given.
          if (e.code !== 'DomainApprovalNeeded') throw e;
          if (!reason.value.trim()) throw new Error(`${domain} is a custom domain: an admin must approve it. Say what it is for in "Reason", then create again to send the request.`);
          await post('CreateSiteRequest', { domain, reason: reason.value });
          say(msg, `Request for ${domain} sent: an admin will approve or deny it.`, 'notice');
        }
        name.value = '';
        reason.value = '';
        await Promise.all([load(), loadRequests()]);
      }),
    );
    return h('section', { class: 'card', 'aria-label': 'new site' }, h('h2', { text: 'New site' }), form, out);
  }

  /** Shows the last page of `path` (the tokens pages were asked from, ListSites ?limit=&start=&search=,
   *  so a page costs the same at 50,000 sites as at 50); a page the node's scan budget ended before
   *  finding anything goes on by itself a few times (an owner's few sites among many). */
  async function show(path) {
    const mine = ++seq;
    const q = search.value.trim();
    const page = await getPage('ListSites', 'sites', { limit: PAGE, search: q, start: path.at(-1) });
    const cards = await Promise.all(page.sites.map(siteCard));
    if (mine !== seq) return; // a newer search or page replaced this one
    starts = path;
    nextStart = page.nextStart;
    clear(list);
    if (cards.length === 0) list.appendChild(h('p', { class: 'muted', text: q ? 'No site matches.' : starts.length > 1 ? 'No more sites.' : admin ? 'No sites yet (grenier site create).' : 'Your key owns no site.' }));
    for (const c of cards) list.appendChild(c);
    pos.textContent = `page ${starts.length}`;
    prev.disabled = starts.length === 1;
    next.disabled = nextStart === null;
  }

  async function load() {
    await show(starts);
  }

  function turn(path) {
    prev.disabled = next.disabled = true;
    say(msg, '');
    show(path).catch((e) => say(msg, e?.message ?? String(e)));
  }
  prev.addEventListener('click', () => turn(starts.slice(0, -1)));
  next.addEventListener('click', () => turn([...starts, nextStart]));
  let typing = null;
  search.addEventListener('input', () => {
    clearTimeout(typing);
    typing = setTimeout(() => turn([null]), 200);
  });

  async function loadRequests() {
    const rs = await get('ListQuotaRequests', admin ? { state: 'pending' } : {});
    clear(requests);
    requests.appendChild(h('h2', { text: admin ? 'Pending requests' : 'Your requests' }));
    if (rs.length === 0) return requests.appendChild(h('p', { class: 'muted', text: 'None.' }));
    const out = h('div');
    const rows = rs.map((r) => {
      const cells = [h('td', { text: r.site }), h('td', { text: r.kind === 'site' ? 'new site' : bytes(r.bytes) }), h('td', { text: r.reason || '—' }), h('td', { class: 'mono', text: r.requester }), h('td', { text: r.state + (r.decisionReason ? ` (${r.decisionReason})` : '') })];
      if (admin) {
        const yes = h('button', { type: 'button', text: 'Approve' });
        const no = h('button', { type: 'button', class: 'danger', text: 'Deny' });
        yes.addEventListener('click', action(yes, out, async () => { await post('ApproveQuotaRequest', {}, { id: r.id }); await load(); await loadRequests(); }));
        no.addEventListener('click', action(no, out, async () => { await post('DenyQuotaRequest', {}, { id: r.id }); await loadRequests(); }));
        cells.push(h('td', {}, yes, ' ', no));
      }
      return h('tr', { 'data-request': r.id }, cells);
    });
    requests.append(
      h('div', { class: 'table-wrap' }, h('table', {}, h('thead', {}, h('tr', {}, ['Site', 'Size', 'Reason', 'By', 'State', admin ? '' : null].filter((x) => x !== null).map((t) => h('th', { text: t })))), h('tbody', {}, rows))),
      out,
    );
  }

  // DOM append() would write a null as the text "null": only owners get the form.
  root.append(
    h('h1', { text: admin ? 'Sites' : 'My sites' }),
    msg,
    ...(admin ? [] : [newSiteForm()]),
    h('div', { class: 'row' }, h('label', { for: 'site-search' }, 'Search', search)),
    list,
    h('div', { class: 'pager' }, prev, pos, next),
    requests,
  );
  await Promise.all([load(), loadRequests()]);
}
