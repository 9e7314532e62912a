// Layout: the roles of the current version, role changes staged (or reverted), their preview
// (partitions per node before and after drawn as bars, data to move, new usable capacity),
// applied with the version check, and the version history.
import { h, svg, clear, say, action, bytes, parseBytes } from './dom.js';
import { get, post } from './api.js';

const PARTITIONS = 256;

function short(id) {
  return id.slice(0, 16);
}

/** Horizontal bars: per node, partitions held now (grey) and after the change (blue). */
export function partitionChart(rows) {
  const W = 640;
  const LABEL = 150;
  const ROW = 34;
  const max = Math.max(1, ...rows.flatMap((r) => [r.before, r.after]));
  const scale = (n) => ((W - LABEL - 70) * n) / max;
  const g = svg('svg', { viewBox: `0 0 ${W} ${rows.length * ROW + 24}`, width: '100%', role: 'img', 'aria-label': 'Partitions per node, now and after the change', class: 'chart', id: 'layout-chart' });
  g.appendChild(svg('text', { x: LABEL, y: 12, class: 'legend' }, svg('tspan', { class: 'before' }, '■ now  '), svg('tspan', { class: 'after' }, '■ after the change')));
  rows.forEach((r, i) => {
    const y = 22 + i * ROW;
    g.append(
      svg('text', { x: 0, y: y + 17, class: 'label' }, r.label),
      svg('rect', { x: LABEL, y, width: scale(r.before), height: 12, class: 'before' }, svg('title', {}, `now ${r.before} partitions`)),
      svg('rect', { x: LABEL, y: y + 14, width: scale(r.after), height: 12, class: 'after' }, svg('title', {}, `after ${r.after} partitions`)),
      svg('text', { x: LABEL + scale(Math.max(r.before, r.after)) + 6, y: y + 17, class: 'value' }, `${r.before} → ${r.after}`),
    );
  });
  return g;
}

export async function render(root) {
  const msg = h('div');
  const rolesBody = h('tbody');
  const stagedBody = h('tbody');
  const histBody = h('tbody');
  const previewBox = h('div', { id: 'layout-preview' });
  const versionText = h('p', { class: 'muted' });
  let layout;
  let nodes = [];

  const nodeSel = h('select', { id: 'role-node', required: true });
  const zoneIn = h('input', { id: 'role-zone', required: true, placeholder: 'e.g. home-paris', autocomplete: 'off' });
  const capIn = h('input', { id: 'role-capacity', placeholder: 'e.g. 500GB' });
  const gateway = h('input', { id: 'role-gateway', type: 'checkbox' });
  const tagsIn = h('input', { id: 'role-tags', placeholder: 'comma separated', autocomplete: 'off' });
  const stageBtn = h('button', { type: 'submit', text: 'Stage' });
  const removeBtn = h('button', { type: 'button', class: 'danger', text: 'Stage removal' });
  const stageForm = h(
    'form',
    { class: 'inline', 'aria-label': 'Stage a role' },
    h('label', { for: 'role-node' }, 'Node', nodeSel),
    h('label', { for: 'role-zone' }, 'Zone', zoneIn),
    h('label', { for: 'role-capacity' }, 'Capacity', capIn),
    h('label', { class: 'check', for: 'role-gateway' }, gateway, ' gateway (stores nothing)'),
    h('label', { for: 'role-tags' }, 'Tags', tagsIn),
    stageBtn,
    removeBtn,
  );
  const previewBtn = h('button', { type: 'button', class: 'secondary', text: 'Preview' });
  const applyBtn = h('button', { type: 'button', text: 'Apply' });
  const revertBtn = h('button', { type: 'button', class: 'secondary', text: 'Revert staged changes' });

  function fillFrom(id) {
    nodeSel.value = id;
    const r = layout.roles.find((x) => x.id === id) ?? nodes.find((n) => n.id === id)?.role;
    zoneIn.value = r?.zone ?? '';
    gateway.checked = r ? r.capacity === null : false;
    capIn.value = r && r.capacity !== null ? bytes(r.capacity).replace(' ', '') : '';
    tagsIn.value = (r?.tags ?? []).join(', ');
  }

  function draw() {
    clear(rolesBody);
    for (const r of layout.roles) {
      const edit = h('button', { type: 'button', class: 'secondary', text: 'Edit', onclick: () => fillFrom(r.id) });
      rolesBody.appendChild(
        h('tr', { 'data-node': r.id }, h('td', { class: 'mono', text: short(r.id) }), h('td', { text: r.zone }), h('td', { text: r.capacity === null ? 'gateway' : bytes(r.capacity) }), h('td', { text: r.tags.join(', ') }), h('td', { text: r.storedPartitions ?? '—' }), h('td', { text: r.usableCapacity === null ? '—' : bytes(r.usableCapacity) }), h('td', {}, edit)),
      );
    }
    if (!layout.roles.length) rolesBody.appendChild(h('tr', {}, h('td', { colspan: 7, class: 'muted', text: 'No node has a role yet: stage one below, preview, apply.' })));
    clear(stagedBody);
    for (const s of layout.stagedRoleChanges)
      stagedBody.appendChild(h('tr', { 'data-node': s.id }, h('td', { class: 'mono', text: short(s.id) }), h('td', { text: s.remove ? 'remove the role' : `zone ${s.zone}, ${s.capacity === null ? 'gateway' : bytes(s.capacity)}${s.tags?.length ? `, tags ${s.tags.join(', ')}` : ''}` })));
    if (layout.stagedParameters) stagedBody.appendChild(h('tr', {}, h('td', { text: 'parameters' }), h('td', { text: `replication factor ${layout.stagedParameters.replicationFactor}` })));
    const pending = layout.stagedRoleChanges.length > 0 || !!layout.stagedParameters;
    if (!pending) stagedBody.appendChild(h('tr', {}, h('td', { colspan: 2, class: 'muted', text: 'Nothing staged.' })));
    previewBtn.disabled = applyBtn.disabled = revertBtn.disabled = !pending;
    applyBtn.textContent = `Apply as version ${layout.version + 1}`;
    versionText.textContent = `Current layout version ${layout.version}, replication factor ${layout.parameters.replicationFactor}, partition size ${bytes(layout.partitionSize)}.`;
    clear(nodeSel);
    const ids = [...new Set([...nodes.map((n) => n.id), ...layout.roles.map((r) => r.id)])];
    for (const id of ids) {
      const n = nodes.find((x) => x.id === id);
      nodeSel.appendChild(h('option', { value: id, text: `${short(id)} ${n?.hostname ?? ''}${n && !n.isUp ? ' (down)' : ''}` }));
    }
  }

  async function load() {
    const [l, st, hist] = await Promise.all([get('GetClusterLayout'), get('GetClusterStatus'), get('GetClusterLayoutHistory')]);
    layout = l;
    nodes = st.nodes;
    draw();
    clear(histBody);
    for (const v of hist.versions)
      histBody.appendChild(h('tr', {}, h('td', { text: v.version }), h('td', { text: v.status }), h('td', { text: v.storageNodes }), h('td', { text: v.gatewayNodes })));
  }

  stageForm.addEventListener('submit', action(stageBtn, msg, async () => {
    let capacity = null;
    if (!gateway.checked) {
      capacity = parseBytes(capIn.value);
      if (capacity === undefined) throw new Error(`"${capIn.value}" is not a capacity (e.g. 500GB), or tick "gateway"`);
    }
    const tags = tagsIn.value.split(',').map((t) => t.trim()).filter(Boolean);
    layout = await post('UpdateClusterLayout', { roles: [{ id: nodeSel.value, zone: zoneIn.value.trim(), capacity, tags }] });
    clear(previewBox);
    draw();
    say(msg, `Staged a role for ${short(nodeSel.value)}: preview, then apply.`, 'notice');
  }));
  removeBtn.addEventListener('click', action(removeBtn, msg, async () => {
    if (!confirm(`Stage the removal of ${short(nodeSel.value)}'s role? Its data moves to the other nodes once applied.`)) return;
    layout = await post('UpdateClusterLayout', { roles: [{ id: nodeSel.value, remove: true }] });
    clear(previewBox);
    draw();
  }));
  revertBtn.addEventListener('click', action(revertBtn, msg, async () => {
    layout = await post('RevertClusterLayout', {});
    clear(previewBox);
    draw();
    say(msg, 'Staged changes reverted.', 'notice');
  }));
  previewBtn.addEventListener('click', action(previewBtn, msg, async () => {
    const p = await post('PreviewClusterLayoutChanges', {});
    clear(previewBox);
    if (p.error) return say(previewBox, `This layout cannot be built: ${p.error}`);
    const after = new Map(p.newLayout.roles.map((r) => [r.id, r]));
    const ids = [...new Set([...layout.roles.map((r) => r.id), ...after.keys()])].sort();
    const rows = ids
      .map((id) => ({ label: `${short(id).slice(0, 12)}…`, before: layout.roles.find((r) => r.id === id)?.storedPartitions ?? 0, after: after.get(id)?.storedPartitions ?? 0 }))
      .filter((r) => r.before || r.after || after.has(r.id));
    const line = (prefix) => p.message.find((m) => m.startsWith(prefix));
    const usable = p.newLayout.roles.reduce((n, r) => n + (r.usableCapacity ?? 0), 0) / Math.max(1, p.newLayout.parameters.replicationFactor);
    previewBox.append(
      h('h2', { text: `Preview of version ${p.newLayout.version}` }),
      h(
        'dl',
        { class: 'kv' },
        h('dt', { text: 'Moved' }),
        h('dd', { text: line('partition replicas moved')?.replace(/^partition replicas moved: /, '') ?? '—' }),
        h('dt', { text: 'Data to move' }),
        h('dd', { id: 'preview-data', text: line('data to move')?.replace(/^data to move: /, '') ?? '—' }),
        h('dt', { text: 'Usable capacity' }),
        h('dd', { id: 'preview-usable', text: `${bytes(Math.round(usable))} (${line('usable capacity')?.replace(/^usable capacity: /, '') ?? ''})` }),
      ),
      partitionChart(rows),
      h('details', {}, h('summary', { text: 'Every line of the preview' }), h('ul', {}, p.message.map((m) => h('li', { class: /^warning/.test(m) ? 'error' : '', text: m })))),
    );
  }));
  applyBtn.addEventListener('click', action(applyBtn, msg, async () => {
    const v = layout.version + 1;
    if (!confirm(`Apply the staged changes as layout version ${v}? Data starts moving.`)) return;
    try {
      const r = await post('ApplyClusterLayout', { version: v });
      say(msg, r.message.join('; '), 'notice');
    } catch (e) {
      // Someone applied in between: show the layout as it is now.
      if (e.code === 'LayoutVersionMismatch') await load();
      throw e;
    }
    clear(previewBox);
    await load();
  }));

  const table = (id, heads, body) => h('div', { class: 'table-wrap' }, h('table', { id }, h('thead', {}, h('tr', {}, heads.map((t) => h('th', { text: t })))), body));
  root.append(
    h('h1', { text: 'Layout' }),
    versionText,
    msg,
    h('h2', { text: 'Roles' }),
    table('layout-roles', ['Node', 'Zone', 'Capacity', 'Tags', `Partitions (of ${PARTITIONS})`, 'Usable', ''], rolesBody),
    h('h2', { text: 'Stage a change' }),
    stageForm,
    h('h2', { text: 'Staged changes' }),
    table('layout-staged', ['Node', 'Change'], stagedBody),
    h('div', { class: 'row' }, previewBtn, applyBtn, revertBtn),
    previewBox,
    h('h2', { text: 'History' }),
    table('layout-history', ['Version', 'Status', 'Storage nodes', 'Gateways'], histBody),
  );
  await load();
  if (nodes[0]) fillFrom(nodes[0].id);
}
