// Key metrics of this node as sparklines (requests/s, errors/s, mean latency, memory and data
// disk used), from GetNodeMetricsSummary sampled every 5 s while the page is open (last 5 min).
import { h, svg, clear, say, bytes } from './dom.js';
import { get } from './api.js';

const SAMPLE_MS = 5000;
const KEEP = 60;

/** A sparkline of the values (null: a gap), scaled to their own range. */
export function sparkline(values, label, zeroBased = true) {
  const W = 240;
  const H = 60;
  const nums = values.filter((v) => v !== null);
  const max = Math.max(...nums, 0);
  const min = zeroBased ? Math.min(...nums, 0) : Math.min(...nums);
  const span = max - min || 1;
  const step = W / Math.max(1, KEEP - 1);
  const off = KEEP - values.length;
  const pts = values.map((v, i) => (v === null ? null : `${((off + i) * step).toFixed(1)},${(H - 4 - ((v - min) / span) * (H - 8)).toFixed(1)}`)).filter(Boolean);
  const last = pts[pts.length - 1]?.split(',');
  return svg(
    'svg',
    { viewBox: `0 0 ${W} ${H}`, class: 'spark', role: 'img', 'aria-label': label, preserveAspectRatio: 'none' },
    svg('line', { x1: 0, x2: W, y1: H - 4, y2: H - 4, class: 'base' }),
    svg('polyline', { points: pts.join(' ') }),
    last ? svg('circle', { cx: last[0], cy: last[1], r: 3 }) : null,
  );
}

const SERIES = [
  ['requests', 'Requests', (v) => `${v.toFixed(1)}/s`],
  ['errors', 'Server errors (5xx)', (v) => `${v.toFixed(2)}/s`],
  ['clientErrors', 'Client errors (4xx)', (v) => `${v.toFixed(2)}/s`],
  ['latency', 'Mean latency', (v) => `${(v * 1000).toFixed(1)} ms`],
  ['memory', 'Memory (RSS)', bytes],
  ['disk', 'Data disk used', bytes],
];

export async function render(root) {
  const err = h('div');
  const grid = h('div', { class: 'grid', id: 'metrics' });
  const note = h('p', { class: 'muted', text: `Sampled every ${SAMPLE_MS / 1000} s while this page is open; rates are between two samples; the last ${(KEEP * SAMPLE_MS) / 60000} minutes are kept.` });
  root.append(h('h1', { text: 'Metrics' }), err, grid, note);
  const hist = Object.fromEntries(SERIES.map(([k]) => [k, []]));
  let prev = null;
  let timer = null;
  let stopped = false;

  function push(k, v) {
    hist[k].push(v);
    if (hist[k].length > KEEP) hist[k].shift();
  }

  function draw() {
    clear(grid);
    for (const [k, label, fmt] of SERIES) {
      const vals = hist[k];
      const last = [...vals].reverse().find((v) => v !== null);
      grid.appendChild(h('section', { class: 'card metric', 'data-metric': k, 'aria-label': label }, h('h2', { text: label }), h('div', { class: 'now', text: last === undefined ? '…' : fmt(last) }), sparkline(vals, `${label}, last ${vals.length} samples`, k !== 'memory' && k !== 'disk')));
    }
  }

  async function sample() {
    try {
      const s = await get('GetNodeMetricsSummary');
      const t = Date.parse(s.time);
      if (prev) {
        const dt = Math.max(0.001, (t - prev.t) / 1000);
        push('requests', (s.requests.total - prev.s.requests.total) / dt);
        push('errors', (s.errors.server - prev.s.errors.server) / dt);
        push('clientErrors', (s.errors.client - prev.s.errors.client) / dt);
        const n = s.latency.count - prev.s.latency.count;
        push('latency', n > 0 ? (s.latency.sumSecs - prev.s.latency.sumSecs) / n : null);
      }
      push('memory', s.memoryBytes);
      push('disk', s.dataDiskUsedBytes);
      prev = { s, t };
      say(err, '');
      draw();
    } catch (e) {
      say(err, e.message);
    }
    if (!stopped) timer = setTimeout(sample, SAMPLE_MS);
  }
  draw();
  await sample();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
