// `grenier layout …`: give nodes a zone and a capacity (or make them gateways), look at the
// staged changes and what they would move, then apply them as a new layout version.
import type { Command } from 'commander';
import { clientFor, CliError } from './client.ts';
import { parseBytes, printJson, printTable } from './output.ts';
import { formatSize } from '../util/size.ts';
import type { ClusterLayout, LayoutHistoryResp, Role, StagedChange } from './cluster-types.ts';

export { formatSize as siBytes } from '../util/size.ts';

/** "2T", "2TB" → 2e12, "1TiB" → 2^40, "500G", "100GB", plain integers = bytes. */
export function parseCapacity(s: string): number {
  const n = parseBytes(s);
  if (n === undefined || n <= 0)
    throw new CliError(`invalid capacity "${s}": give a positive size such as 2T, 500G, 100GB, 1TiB or a number of bytes`, 2);
  return n;
}

/** Garage's `-r/--redundancy`: "maximum" or a number of zones. */
export function parseRedundancy(s: string): 'maximum' | { atLeast: number } {
  if (s === 'maximum' || s === 'max') return 'maximum';
  if (!/^[1-9]\d*$/.test(s)) throw new CliError(`invalid zone redundancy "${s}": give "maximum" or a number of zones such as 2`, 2);
  return { atLeast: Number(s) };
}

/** The API's zoneRedundancy ("maximum" or {atLeast: n}) as the CLI shows it. */
function redundancy(zr: unknown): string {
  return typeof zr === 'object' && zr !== null && 'atLeast' in zr ? `at least ${(zr as { atLeast: number }).atLeast} zones` : 'maximum';
}

function capacity(c: number | null): string {
  return c === null ? 'gateway' : formatSize(c);
}

function stagedRole(l: ClusterLayout, id: string): Role | null | undefined {
  const s = l.stagedRoleChanges.find((x) => x.id === id);
  if (s) return s.remove ? null : { zone: s.zone, capacity: s.capacity, tags: s.tags };
  const r = l.roles.find((x) => x.id === id);
  return r ? { zone: r.zone, capacity: r.capacity, tags: r.tags } : undefined;
}

/** The full id of a node the layout already names, from a prefix; undefined lets the server
 *  resolve it among connected nodes (and say "no node matches …" if none does). */
function layoutId(l: ClusterLayout, prefix: string): string | undefined {
  const p = prefix.toLowerCase();
  const ids = [...new Set([...l.roles.map((r) => r.id), ...l.stagedRoleChanges.map((s) => s.id)])];
  const hits = ids.filter((id) => id.startsWith(p));
  if (hits.length > 1) throw new CliError(`${hits.length} nodes match ${prefix}: ${hits.map((h) => h.slice(0, 16)).join(', ')}`);
  return hits[0];
}

function describeChange(s: StagedChange): string[] {
  return s.remove ? [s.id.slice(0, 16), 'remove', '', '', ''] : [s.id.slice(0, 16), 'set', s.zone, capacity(s.capacity), s.tags.join(',')];
}

function printLayout(l: ClusterLayout): void {
  process.stdout.write(
    `Layout version ${l.version} (replication factor ${l.parameters.replicationFactor}, zone redundancy ${redundancy(l.parameters.zoneRedundancy)}, partition size ${formatSize(l.partitionSize)})\n\n`,
  );
  printTable(
    ['id', 'zone', 'capacity', 'partitions', 'usable', 'tags'],
    l.roles.map((r) => [
      r.id.slice(0, 16),
      r.zone,
      capacity(r.capacity),
      r.storedPartitions === null ? '' : String(r.storedPartitions),
      r.usableCapacity === null ? '' : formatSize(r.usableCapacity),
      r.tags.join(','),
    ]),
    '(no node has a role yet: see `grenier layout assign`)',
  );
  if (l.stagedRoleChanges.length === 0 && !l.stagedParameters) {
    process.stdout.write('\nNo staged changes.\n');
    return;
  }
  process.stdout.write('\nStaged changes:\n');
  printTable(['id', 'change', 'zone', 'capacity', 'tags'], l.stagedRoleChanges.map(describeChange));
  const sp = l.stagedParameters as { replicationFactor: number; zoneRedundancy?: unknown } | null;
  if (sp) process.stdout.write(`replication factor → ${sp.replicationFactor}, zone redundancy → ${redundancy(sp.zoneRedundancy)}\n`);
  process.stdout.write(`\nSee what they would move with \`grenier layout preview\`, then \`grenier layout apply --version ${l.version + 1}\`.\n`);
}

function collect(v: string, prev: string[] = []): string[] {
  return [...prev, v];
}

export function registerLayout(program: Command): void {
  const layout = program.command('layout').description('cluster layout: zones and capacities of the nodes');

  layout
    .command('assign')
    .description('stage a role for nodes: a zone and a capacity, or gateway (no data)')
    .argument('<node...>', 'node id or unique prefix of one')
    .option('-z, --zone <zone>', 'zone (site) the node is in')
    .option('-c, --capacity <size>', 'storage the node offers: 2T, 500G, 100GB, 1TiB, or bytes')
    .option('-g, --gateway', 'the node stores nothing and only serves requests')
    .option('-t, --tag <tag>', 'a tag (repeatable; replaces the node\'s tags)', collect)
    .option('--json', 'print the resulting layout as JSON')
    .action(async (nodes: string[], o: { zone?: string; capacity?: string; gateway?: boolean; tag?: string[]; json?: boolean }, cmd: Command) => {
      if (o.gateway && o.capacity) throw new CliError('give either -c <capacity> or -g/--gateway, not both', 2);
      const cap = o.capacity !== undefined ? parseCapacity(o.capacity) : o.gateway ? null : undefined;
      if (o.zone !== undefined && o.zone.trim() === '') throw new CliError('the zone must not be empty', 2);
      const c = clientFor(cmd);
      const l = await c.get<ClusterLayout>('GetClusterLayout');
      const roles = nodes.map((n) => {
        const id = layoutId(l, n);
        // Like Garage, what is not given is kept from the node's current (or staged) role.
        const old = id ? stagedRole(l, id) : undefined;
        const zone = o.zone ?? old?.zone;
        if (!zone) throw new CliError(`node ${n} has no role yet: give its zone with -z <zone>`, 2);
        const capacity = cap !== undefined ? cap : old ? old.capacity : undefined;
        if (capacity === undefined) throw new CliError(`node ${n} has no role yet: give -c <capacity> (e.g. 2T) or -g for a gateway`, 2);
        return { id: id ?? n, zone, capacity, tags: o.tag ?? old?.tags ?? [] };
      });
      const after = await c.post<ClusterLayout>('UpdateClusterLayout', { roles });
      if (o.json) return printJson(after);
      for (const r of roles) {
        const full = after.stagedRoleChanges.find((s) => s.id.startsWith(r.id.toLowerCase()))?.id ?? r.id;
        process.stdout.write(`Staged: ${full.slice(0, 16)} in zone ${r.zone}, ${capacity(r.capacity)}${r.tags.length ? `, tags ${r.tags.join(',')}` : ''}\n`);
      }
      process.stdout.write(`Run \`grenier layout preview\`, then \`grenier layout apply --version ${after.version + 1}\`.\n`);
    });

  layout
    .command('remove')
    .description('stage the removal of a node\'s role (its data moves to the others on apply)')
    .argument('<node>', 'node id or unique prefix of one')
    .option('--json', 'print the resulting layout as JSON')
    .action(async (node: string, o: { json?: boolean }, cmd: Command) => {
      const c = clientFor(cmd);
      const l = await c.get<ClusterLayout>('GetClusterLayout');
      const id = layoutId(l, node);
      if (!id) throw new CliError(`no node matches ${node} in the layout`);
      const after = await c.post<ClusterLayout>('UpdateClusterLayout', { roles: [{ id, remove: true }] });
      if (o.json) return printJson(after);
      process.stdout.write(`Staged: remove ${id.slice(0, 16)}. Run \`grenier layout preview\`, then \`grenier layout apply --version ${after.version + 1}\`.\n`);
    });

  layout
    .command('show')
    .description('show the current layout and the staged changes')
    .option('--json', 'print the API response as JSON')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      const l = await clientFor(cmd).get<ClusterLayout>('GetClusterLayout');
      if (o.json) return printJson(l);
      printLayout(l);
    });

  layout
    .command('preview')
    .description('show what applying the staged changes would move, and the new capacity')
    .option('--json', 'print the API response as JSON')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      const p = await clientFor(cmd).post<{ error?: string; message?: string[]; newLayout?: ClusterLayout }>('PreviewClusterLayoutChanges');
      if (o.json) return printJson(p);
      if (p.error) throw new CliError(`the staged layout cannot be computed: ${p.error}`);
      process.stdout.write((p.message ?? []).join('\n') + '\n');
      if (p.newLayout) process.stdout.write(`\nTo apply: grenier layout apply --version ${p.newLayout.version}\n`);
    });

  layout
    .command('apply')
    .description('apply the staged changes as a new layout version')
    .option('--version <n>', 'the new version number (current + 1), as a guard against concurrent changes')
    .option('--json', 'print the API response as JSON')
    .action(async (o: { version?: string; json?: boolean }, cmd: Command) => {
      const c = clientFor(cmd);
      if (o.version === undefined) {
        const l = await c.get<ClusterLayout>('GetClusterLayout');
        throw new CliError(`give the new version explicitly: grenier layout apply --version ${l.version + 1}`, 2);
      }
      const v = Number(o.version);
      if (!/^\d+$/.test(o.version) || !Number.isSafeInteger(v)) throw new CliError(`--version must be a number (got "${o.version}")`, 2);
      const r = await c.post<{ message: string[]; layout: ClusterLayout }>('ApplyClusterLayout', { version: v });
      if (o.json) return printJson(r);
      process.stdout.write(r.message.join('\n') + '\n\n');
      printLayout(r.layout);
    });

  layout
    .command('config')
    .description('stage layout parameters (applied with the next version), as Garage\'s `layout config`')
    .option('-r, --redundancy <n>', 'zone redundancy: each partition on at least n zones, or "maximum" (= min(zones, replication factor))')
    .option('--json', 'print the resulting layout as JSON')
    .action(async (o: { redundancy?: string; json?: boolean }, cmd: Command) => {
      if (o.redundancy === undefined) throw new CliError('give a parameter to change: -r <n> or -r maximum', 2);
      const zoneRedundancy = parseRedundancy(o.redundancy);
      const after = await clientFor(cmd).post<ClusterLayout>('UpdateClusterLayout', { parameters: { zoneRedundancy } });
      if (o.json) return printJson(after);
      process.stdout.write(
        `Staged: zone redundancy ${redundancy(zoneRedundancy)}. Run \`grenier layout preview\`, then \`grenier layout apply --version ${after.version + 1}\`.\n`,
      );
    });

  layout
    .command('revert')
    .description('drop every staged change')
    .option('--json', 'print the resulting layout as JSON')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      const l = await clientFor(cmd).post<ClusterLayout>('RevertClusterLayout');
      if (o.json) return printJson(l);
      process.stdout.write(`Staged changes dropped; the layout stays at version ${l.version}.\n`);
    });

  layout
    .command('history')
    .description('layout versions still in use and how far each node has synced')
    .option('--json', 'print the API response as JSON')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      const h = await clientFor(cmd).get<LayoutHistoryResp>('GetClusterLayoutHistory');
      if (o.json) return printJson(h);
      process.stdout.write(`Current version ${h.currentVersion}; reads use version ${h.readVersion}; oldest acknowledged ${h.minAck}\n\n`);
      printTable(
        ['version', 'status', 'storage nodes', 'gateways'],
        h.versions.map((v) => [String(v.version), v.status, String(v.storageNodes), String(v.gatewayNodes)]),
      );
      process.stdout.write('\n');
      printTable(
        ['node', 'ack', 'sync'],
        Object.entries(h.updateTrackers).map(([id, t]) => [id.slice(0, 16), String(t.ack ?? '-'), String(t.sync ?? '-')]),
        '(no node has reported yet)',
      );
    });
}
