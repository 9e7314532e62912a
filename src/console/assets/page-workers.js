// This node's background workers with their state and progress, refreshed every 2 s (a bar
// where the progress names a fraction), and repairs launched on demand and followed live.
import { h, clear, say, action, when } from './dom.js';
import { get, post } from './api.js';

const REFRESH_MS = 2000;
const REPAIRS = [
  ['tables', 'Tables: sync metadata with the other replicas'],
  ['blocks', 'Blocks: fetch missing blocks, offload extra ones'],
  ['scrub', 'Scrub: read every block and check its hash'],
  ['rebalance', 'Rebalance: move blocks to the nodes the layout names'],
  ['gc', 'Garbage collection: unreferenced blocks and old tombstones'],
];

/** 0–1 from "12/40", "12 of 40" or "30%"; undefined when the text names no fraction. */
export function fractionOf(text) {
  if (!text) return undefined;
  const pct = /(\d+(?:\.\d+)?)\s*%/.exec(text);
  if (pct) return Math.min(1, Number(pct[1]) / 100);
  const m = /(\d+)\s*(?:\/|of)\s*(\d+)/.exec(text);
  if (m && Number(m[2]) > 0) return Math.min(1, Number(m[1]) / Number(m[2]));
  return undefined;
}

function progressCell(w) {
  const f = fractionOf(w.progress);
  const td = h('td');
  if (f !== undefined) {
    const bar = h('div', { class: 'bar', role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': Math.round(f * 100), 'aria-label': `${w.name} progress` });
    const fill = h('div', { class: 'fill' });
    fill.style.width = `${Math.round(f * 100)}%`;
    bar.appendChild(fill);
    td.appendChild(bar);
  }
  td.appendChild(h('span', { text: w.progress ?? (w.state === 'busy' ? 'running…' : '') }));
  return td;
}

export async function render(root) {
  const out = h('div');
  const tbody = h('tbody');
  const updated = h('p', { class: 'muted' });
  const kind = h('select', { id: 'repair-type' }, REPAIRS.map(([v, t]) => h('option', { value: v, text: t })));
  const launch = h('button', { type: 'submit', text: 'Launch repair' });
  const form = h('form', { class: 'inline', 'aria-label': 'Launch a repair' }, h('label', { for: 'repair-type' }, 'Repair', kind), launch);
  let watched = new Set();
  let timer = null;
  let stopped = false;

  form.addEventListener('submit', action(launch, out, async () => {
    const x = await post('LaunchRepairOperation', { repairType: kind.value });
    watched = new Set([...x.launched, ...x.alreadyRunning]);
    say(out, `${kind.value}: launched ${x.launched.join(', ') || 'nothing'}${x.alreadyRunning.length ? `; already running: ${x.alreadyRunning.join(', ')}` : ''}. Its workers are highlighted below.`, 'notice');
    await refresh();
  }));

  async function refresh() {
    clearTimeout(timer);
    try {
      const ws = await get('ListWorkers');
      clear(tbody);
      for (const w of ws)
        tbody.appendChild(
          h(
            'tr',
            { 'data-worker': w.name, 'data-state': w.state, class: `${w.state === 'busy' ? 'busy' : ''}${watched.has(w.name) ? ' watched' : ''}` },
            h('td', { class: 'mono', text: w.name }),
            h('td', { text: w.state }),
            progressCell(w),
            h('td', { text: String(w.queue ?? '') }),
            h('td', { text: `${w.runs} / ${w.errors}` }),
            h('td', { class: w.lastError ? 'error' : '', text: w.lastError ?? '' }),
            h('td', { text: when(w.lastRunAt) }),
          ),
        );
      updated.textContent = `Updated ${new Date().toLocaleTimeString()}; refreshes every ${REFRESH_MS / 1000} s.`;
    } catch (e) {
      say(out, e.message);
    }
    if (!stopped) timer = setTimeout(refresh, REFRESH_MS);
  }
  root.append(
    h('h1', { text: 'Workers and repairs' }),
    form,
    out,
    h('div', { class: 'table-wrap' }, h('table', { id: 'workers' }, h('thead', {}, h('tr', {}, ['Worker', 'State', 'Progress', 'Queue', 'Runs / errors', 'Last error', 'Last run'].map((t) => h('th', { text: t })))), tbody)),
    updated,
  );
  await refresh();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
