// Cluster map: a card per zone with its nodes (up/down and since when, capacity, disk free,
// partitions, RTT, CPU and memory of its process, version) and the health banner, refreshed every
// 5 seconds.
import { h, clear, bytes, ago, say } from './dom.js';
import { get } from './api.js';

const REFRESH_MS = 5000;

const MEANING = {
  healthy: 'every storage node is up and every partition has all its copies',
  degraded: 'some node is down, but every partition still has a write quorum: reads and writes work',
  unavailable: 'some partitions lack a write quorum: writes to them fail until nodes come back',
};

function nodeCard(n) {
  const zoneless = !n.role;
  const disk = n.dataPartition ? `${bytes(n.dataPartition.available)} free of ${bytes(n.dataPartition.total)}` : '—';
  const state = n.isUp ? 'up' : `down${n.lastSeenSecsAgo !== null && n.lastSeenSecsAgo !== undefined ? ` (last seen ${ago(n.lastSeenSecsAgo)})` : ''}`;
  return h(
    'div',
    { class: `node${n.isUp ? '' : ' down'}`, 'data-node': n.id, 'data-up': String(n.isUp) },
    h('div', {}, h('span', { class: 'state', text: n.isUp ? '● ' : '○ ' }), h('strong', { class: 'mono', text: n.id.slice(0, 16) }), ' ', h('span', { class: 'muted', text: n.hostname ?? '' })),
    h(
      'dl',
      { class: 'kv' },
      h('dt', { text: 'State' }),
      h('dd', { class: 'state', text: state }),
      h('dt', { text: 'Address' }),
      h('dd', { class: 'mono', text: n.addr ?? '—' }),
      h('dt', { text: 'Capacity' }),
      h('dd', { text: zoneless ? 'no role in the layout' : n.role.capacity === null ? 'gateway (stores nothing)' : bytes(n.role.capacity) }),
      h('dt', { text: 'Disk' }),
      h('dd', { text: disk }),
      h('dt', { text: 'Partitions' }),
      h('dd', { text: String(n.partitions ?? 0) + (n.draining ? ' (draining)' : '') }),
      h('dt', { text: 'RTT' }),
      h('dd', { text: n.rttMs === null || n.rttMs === undefined ? (n.isUp ? 'this node' : '—') : `${n.rttMs} ms` }),
      h('dt', { text: 'CPU' }),
      h('dd', { class: 'cpu', text: n.process ? `${n.process.cpuPercent}% of a core` : '—' }),
      h('dt', { text: 'Memory' }),
      h('dd', { class: 'rss', text: n.process ? `${bytes(n.process.rssBytes)} resident` : '—' }),
      h('dt', { text: 'Version' }),
      h('dd', { text: n.version ?? '—' }),
    ),
  );
}

export async function render(root, ctx) {
  const err = h('div');
  const updated = h('p', { class: 'muted' });
  const grid = h('div', { class: 'grid', id: 'zones' });
  root.append(h('h1', { text: 'Cluster' }), err, grid, updated);
  let timer = null;
  let stopped = false;

  async function refresh() {
    try {
      const [health, status] = await Promise.all([get('GetClusterHealth'), get('GetClusterStatus')]);
      say(err, '');
      ctx.setBanner(health.status, `Cluster ${health.status}`, `${MEANING[health.status] ?? ''}; ${health.storageNodesUp}/${health.storageNodes} storage nodes up, ${health.partitionsQuorum}/${health.partitions} partitions with quorum`);
      const zones = new Map();
      for (const n of status.nodes) {
        const z = n.role?.zone ?? '(no zone)';
        if (!zones.has(z)) zones.set(z, []);
        zones.get(z).push(n);
      }
      clear(grid);
      for (const [z, nodes] of [...zones].sort(([a], [b]) => (a < b ? -1 : 1))) {
        const up = nodes.filter((n) => n.isUp).length;
        grid.appendChild(
          h('section', { class: 'card zone', 'data-zone': z, 'aria-label': `zone ${z}` }, h('h2', {}, `Zone ${z} `, h('span', { class: 'muted', text: `${up}/${nodes.length} up` })), nodes.map(nodeCard)),
        );
      }
      updated.textContent = `Layout version ${status.layoutVersion}. Updated ${new Date().toLocaleTimeString()}; refreshes every ${REFRESH_MS / 1000} s.`;
    } catch (e) {
      say(err, `${e.message} (showing the last known state)`);
      ctx.setBanner('unavailable', 'This node does not answer', e.message);
    }
    if (!stopped) timer = setTimeout(refresh, REFRESH_MS);
  }
  await refresh();
  return () => {
    stopped = true;
    clearTimeout(timer);
    ctx.setBanner(null);
  };
}
