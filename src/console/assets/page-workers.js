// This node's background workers with their state and progress (refreshed every 5 s), and
// repairs launched on demand.
import { h, clear, say, action, when } from './dom.js';
import { get, post } from './api.js';

const REPAIRS = ['tables', 'blocks', 'scrub', 'rebalance', 'gc'];

export async function render(root) {
  const out = h('div');
  const tbody = h('tbody');
  const buttons = REPAIRS.map((r) => {
    const b = h('button', { type: 'button', class: 'secondary', text: `Repair ${r}` });
    b.addEventListener('click', action(b, out, async () => {
      const x = await post('LaunchRepairOperation', { repairType: r });
      say(out, `${r}: launched ${x.launched.join(', ') || 'nothing'}${x.alreadyRunning.length ? `; already running: ${x.alreadyRunning.join(', ')}` : ''}`, 'notice');
      await refresh();
    }));
    return b;
  });
  let timer = null;
  let stopped = false;
  async function refresh() {
    clearTimeout(timer);
    try {
      const ws = await get('ListWorkers');
      clear(tbody);
      for (const w of ws)
        tbody.appendChild(h('tr', {}, h('td', { class: 'mono', text: w.name }), h('td', { text: w.state }), h('td', { text: w.progress ?? '' }), h('td', { text: String(w.queue ?? '') }), h('td', { text: `${w.runs} / ${w.errors}` }), h('td', { text: w.lastError ?? '' }), h('td', { text: when(w.lastRunAt) })));
    } catch (e) {
      say(out, e.message);
    }
    if (!stopped) timer = setTimeout(refresh, 5000);
  }
  root.append(
    h('h1', { text: 'Workers' }),
    h('div', { class: 'row' }, buttons),
    out,
    h('div', { class: 'table-wrap' }, h('table', { id: 'workers' }, h('thead', {}, h('tr', {}, ['Worker', 'State', 'Progress', 'Queue', 'Runs / errors', 'Last error', 'Last run'].map((t) => h('th', { text: t })))), tbody)),
  );
  await refresh();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
