// Element building for the console: every piece of data goes in as text (textContent or an
// attribute value), never as markup, so names chosen by users cannot inject anything.

/** h('div', { class: 'x', onclick: fn, 'aria-label': 'y' }, child, 'text', [more]) */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'text') el.textContent = String(v);
    else if (k === 'value') el.value = String(v);
    else if (k === 'checked') el.checked = Boolean(v);
    else if (k === 'href') el.setAttribute('href', safeHref(String(v)));
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

/** Only in-page routes and http(s) links: never javascript: or data: from data. */
export function safeHref(u) {
  if (u.startsWith('#')) return u;
  try {
    const p = new URL(u, location.href);
    if (p.protocol === 'http:' || p.protocol === 'https:') return p.href;
  } catch {
    /* not a URL */
  }
  return '#';
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];
/** Decimal units, as quotas and disks are sold. */
export function bytes(n) {
  if (n === null || n === undefined) return '—';
  let v = n;
  let u = 0;
  while (v >= 1000 && u < UNITS.length - 1) {
    v /= 1000;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(v < 10 ? 2 : 1)} ${UNITS[u]}`;
}

/** "50MB", "1.5 GB", "200MiB", "1000" → bytes, or undefined. */
export function parseBytes(s) {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?)b?\s*$/i.exec(s);
  if (!m) return undefined;
  const exp = ' kmgt'.indexOf(m[2].toLowerCase() || ' ');
  const v = Math.round(Number(m[1]) * (m[3] ? 1024 : 1000) ** exp);
  return Number.isSafeInteger(v) && v > 0 ? v : undefined;
}

export function when(iso) {
  return iso ? String(iso).slice(0, 19).replace('T', ' ') : '—';
}

export function ago(secs) {
  if (secs === null || secs === undefined) return '';
  if (secs < 60) return `${secs} s ago`;
  if (secs < 3600) return `${Math.floor(secs / 60)} min ago`;
  if (secs < 86400) return `${Math.floor(secs / 3600)} h ago`;
  return `${Math.floor(secs / 86400)} d ago`;
}

/** A bar of `used` against `max` (null: no limit), with its numbers as text for screen readers. */
export function usageBar(used, max) {
  const pct = max ? Math.min(100, Math.round((used / max) * 100)) : 0;
  const label = max ? `${bytes(used)} of ${bytes(max)} (${pct} %)` : `${bytes(used)} (no quota)`;
  const bar = h('div', { class: `bar${pct >= 90 ? ' bar-hot' : ''}`, role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': pct, 'aria-label': label });
  const fill = h('div', { class: 'fill' });
  fill.style.width = `${pct}%`;
  bar.appendChild(fill);
  return h('div', { class: 'usage' }, bar, h('span', { class: 'muted', text: label }));
}

/** A message area: error in red, notice otherwise; replaces what was there. */
export function say(el, msg, kind = 'error') {
  clear(el);
  if (msg) el.appendChild(h('p', { class: kind, role: kind === 'error' ? 'alert' : 'status', text: msg }));
}

/** Runs an async action from a button: disabled while it runs, errors shown in `out`. */
export function action(button, out, fn) {
  return async (ev) => {
    ev?.preventDefault?.();
    button.disabled = true;
    say(out, '');
    try {
      await fn();
    } catch (e) {
      say(out, e?.message ?? String(e));
    } finally {
      button.disabled = false;
    }
  };
}

const SVG_NS = 'http://www.w3.org/2000/svg';
/** An SVG element: attributes as values only, text children as text nodes (no markup). */
export function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs ?? {})) if (v !== undefined && v !== null && v !== false) el.setAttribute(k, String(v));
  append(el, children);
  return el;
}
