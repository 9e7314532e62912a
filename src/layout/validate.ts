// Whole-history validation of a layout that came from a peer or from disk: shape, node ids,
// zones, capacities, 256 partitions of valid, distinct storage nodes, contiguous versions and
// bounded sizes. Nothing is saved, gossiped or used for placement before this passes.
import { GrenierError } from '../util/errors.ts';
import { emptyHistory } from './history.ts';
import { PARTITIONS } from './types.ts';
import type { LayoutHistory, LayoutVersion, NodeRole, StagedRole } from './types.ts';

export const LAYOUT_LIMITS = {
  /** Versions kept at once (old ones are trimmed once synced; a transition holds a few). */
  versionsMax: 64,
  /** Nodes with a role in one version (and entries in staging / the trackers). */
  nodesMax: 1024,
  replicationFactorMax: 7,
  zoneBytesMax: 128,
  tagsMax: 32,
  tagBytesMax: 128,
};

const NODE_ID = /^[0-9a-f]{64}$/;

class Bad extends GrenierError {
  constructor(path: string, why: string) {
    super('InvalidLayout', `layout: ${path}: ${why}`);
  }
}

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x) && !Buffer.isBuffer(x);
const isCount = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
const isTime = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x) && x >= 0;

function keysOnly(o: Record<string, unknown>, path: string, allowed: string[]): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) throw new Bad(path, `unexpected field ${JSON.stringify(k.slice(0, 64))}`);
}

function nodeMap(x: unknown, path: string): [string, unknown][] {
  if (!isObj(x)) throw new Bad(path, 'expected an object keyed by node id');
  const entries = Object.entries(x);
  if (entries.length > LAYOUT_LIMITS.nodesMax) throw new Bad(path, `more than ${LAYOUT_LIMITS.nodesMax} nodes`);
  for (const [id] of entries) if (!NODE_ID.test(id)) throw new Bad(path, `${JSON.stringify(id.slice(0, 80))} is not a node id (64 hex)`);
  return entries;
}

function checkRf(x: unknown, path: string): number {
  if (!Number.isSafeInteger(x) || (x as number) < 1 || (x as number) > LAYOUT_LIMITS.replicationFactorMax)
    throw new Bad(path, `replication factor must be 1 to ${LAYOUT_LIMITS.replicationFactorMax}`);
  return x as number;
}

function checkRole(x: unknown, path: string): NodeRole {
  if (!isObj(x)) throw new Bad(path, 'expected a role object');
  keysOnly(x, path, ['zone', 'capacity', 'tags']);
  const { zone, capacity, tags } = x;
  if (typeof zone !== 'string' || zone.trim() === '' || Buffer.byteLength(zone) > LAYOUT_LIMITS.zoneBytesMax)
    throw new Bad(`${path}.zone`, `expected a non-empty zone of at most ${LAYOUT_LIMITS.zoneBytesMax} bytes`);
  if (capacity !== null && !(Number.isSafeInteger(capacity) && (capacity as number) > 0))
    throw new Bad(`${path}.capacity`, 'expected a positive number of bytes, or null for a gateway');
  if (!Array.isArray(tags) || tags.length > LAYOUT_LIMITS.tagsMax || tags.some((t) => typeof t !== 'string' || Buffer.byteLength(t) > LAYOUT_LIMITS.tagBytesMax))
    throw new Bad(`${path}.tags`, `expected at most ${LAYOUT_LIMITS.tagsMax} strings of at most ${LAYOUT_LIMITS.tagBytesMax} bytes`);
  return x as unknown as NodeRole;
}

export function checkVersion(x: unknown, path = 'version'): LayoutVersion {
  if (!isObj(x)) throw new Bad(path, 'expected a layout version object');
  keysOnly(x, path, ['version', 'replicationFactor', 'roles', 'assignment', 'partitionSize', 'zoneRedundancy']);
  if (!isCount(x.version)) throw new Bad(`${path}.version`, 'expected a non-negative integer');
  const rf = checkRf(x.replicationFactor, `${path}.replicationFactor`);
  if (x.zoneRedundancy !== undefined) {
    // Stored only as {atLeast}; 'maximum' is the field's absence.
    const zr = x.zoneRedundancy;
    if (!isObj(zr)) throw new Bad(`${path}.zoneRedundancy`, 'expected {atLeast: n}');
    keysOnly(zr, `${path}.zoneRedundancy`, ['atLeast']);
    if (!Number.isSafeInteger(zr.atLeast) || (zr.atLeast as number) < 1 || (zr.atLeast as number) > rf)
      throw new Bad(`${path}.zoneRedundancy.atLeast`, `expected 1 to the replication factor (${rf})`);
  }
  const roles = nodeMap(x.roles, `${path}.roles`);
  for (const [id, r] of roles) checkRole(r, `${path}.roles.${id.slice(0, 16)}`);
  if (!isCount(x.partitionSize)) throw new Bad(`${path}.partitionSize`, 'expected a non-negative integer');
  const storage = new Set(roles.filter(([, r]) => (r as NodeRole).capacity !== null).map(([id]) => id));
  const want = Math.min(rf, storage.size);
  const a = x.assignment;
  if (!Array.isArray(a) || a.length !== PARTITIONS) throw new Bad(`${path}.assignment`, `expected ${PARTITIONS} partitions`);
  for (let p = 0; p < PARTITIONS; p++) {
    const list: unknown = a[p];
    const at = `${path}.assignment[${p}]`;
    if (!Array.isArray(list)) throw new Bad(at, 'expected a list of node ids');
    // Fewer than rf replicas can happen (assign.ts falls back); none at all would lose writes.
    if (list.length > want || (want > 0 && list.length === 0)) throw new Bad(at, `expected 1 to ${want} nodes, got ${list.length}`);
    const seen = new Set<string>();
    for (const id of list) {
      if (typeof id !== 'string' || !storage.has(id)) throw new Bad(at, 'every node must be a storage node of this version');
      if (seen.has(id)) throw new Bad(at, 'a node holds a partition at most once');
      seen.add(id);
    }
  }
  if (storage.size === 0 && x.partitionSize !== 0) throw new Bad(`${path}.partitionSize`, 'must be 0 without storage nodes');
  return x as unknown as LayoutVersion;
}

function checkTracker(x: unknown, path: string): void {
  for (const [id, v] of nodeMap(x, path)) if (!isCount(v)) throw new Bad(`${path}.${id.slice(0, 16)}`, 'expected a version number');
}

function checkStaged(x: unknown, path: string): StagedRole {
  if (!isObj(x)) throw new Bad(path, 'expected {t, v}');
  keysOnly(x, path, ['t', 'v']);
  if (!isTime(x.t)) throw new Bad(`${path}.t`, 'expected a non-negative timestamp');
  if (x.v !== null) checkRole(x.v, `${path}.v`);
  return x as unknown as StagedRole;
}

/** Returns the history if it is valid as a whole; throws InvalidLayout naming the first problem. */
export function checkHistory(x: unknown): LayoutHistory {
  if (!isObj(x)) throw new Bad('history', 'expected a layout history object');
  keysOnly(x, 'history', ['versions', 'staging', 'stagingRf', 'stagingZr', 'stagingSince', 'syncMap', 'ackMap']);
  const vs = x.versions;
  if (!Array.isArray(vs) || vs.length === 0 || vs.length > LAYOUT_LIMITS.versionsMax)
    throw new Bad('versions', `expected 1 to ${LAYOUT_LIMITS.versionsMax} versions`);
  vs.forEach((v, i) => checkVersion(v, `versions[${i}]`));
  for (let i = 1; i < vs.length; i++)
    if ((vs[i] as LayoutVersion).version !== (vs[i - 1] as LayoutVersion).version + 1) throw new Bad(`versions[${i}].version`, 'versions must be ascending and contiguous');
  for (const [id, s] of nodeMap(x.staging, 'staging')) checkStaged(s, `staging.${id.slice(0, 16)}`);
  if (x.stagingRf !== undefined && x.stagingRf !== null) {
    if (!isObj(x.stagingRf)) throw new Bad('stagingRf', 'expected {t, v}');
    keysOnly(x.stagingRf, 'stagingRf', ['t', 'v']);
    if (!isTime(x.stagingRf.t)) throw new Bad('stagingRf.t', 'expected a non-negative timestamp');
    checkRf(x.stagingRf.v, 'stagingRf.v');
  }
  if (x.stagingZr !== undefined && x.stagingZr !== null) {
    if (!isObj(x.stagingZr)) throw new Bad('stagingZr', 'expected {t, v}');
    keysOnly(x.stagingZr, 'stagingZr', ['t', 'v']);
    if (!isTime(x.stagingZr.t)) throw new Bad('stagingZr.t', 'expected a non-negative timestamp');
    const v = x.stagingZr.v;
    if (v !== 'maximum') {
      if (!isObj(v)) throw new Bad('stagingZr.v', 'expected "maximum" or {atLeast: n}');
      keysOnly(v, 'stagingZr.v', ['atLeast']);
      if (!Number.isSafeInteger(v.atLeast) || (v.atLeast as number) < 1 || (v.atLeast as number) > LAYOUT_LIMITS.replicationFactorMax)
        throw new Bad('stagingZr.v.atLeast', `expected 1 to ${LAYOUT_LIMITS.replicationFactorMax}`);
    }
  }
  if (x.stagingSince !== undefined && x.stagingSince !== null && !isTime(x.stagingSince)) throw new Bad('stagingSince', 'expected a non-negative timestamp');
  checkTracker(x.syncMap, 'syncMap');
  checkTracker(x.ackMap, 'ackMap');
  return x as unknown as LayoutHistory;
}

/**
 * What a node starts with when its stored layout is invalid: the newest run of valid versions,
 * with the staged entries and tracker values that are valid (the rest is dropped), or an empty
 * history. Peers gossip back whatever was lost. Returns why it had to salvage.
 */
export function salvageHistory(x: unknown, rf: number): { history: LayoutHistory; problem: string | undefined } {
  try {
    return { history: checkHistory(x), problem: undefined };
  } catch (e) {
    const problem = (e as Error).message;
    const o = isObj(x) ? x : {};
    const valid: LayoutVersion[] = [];
    const vs = Array.isArray(o.versions) ? (o.versions as unknown[]).slice(-LAYOUT_LIMITS.versionsMax) : [];
    for (let i = vs.length - 1; i >= 0; i--) {
      let v: LayoutVersion;
      try {
        v = checkVersion(vs[i]);
      } catch {
        if (valid.length) break;
        continue;
      }
      if (valid.length && v.version !== valid[0]!.version - 1) break;
      valid.unshift(v);
    }
    const h = emptyHistory(Math.min(Math.max(1, Math.floor(rf)), LAYOUT_LIMITS.replicationFactorMax));
    if (valid.length) h.versions = valid;
    const keep = <T>(m: unknown, ok: (v: unknown) => boolean): Record<string, T> => {
      const out: Record<string, T> = {};
      if (!isObj(m)) return out;
      for (const [k, v] of Object.entries(m).slice(0, LAYOUT_LIMITS.nodesMax)) if (NODE_ID.test(k) && ok(v)) out[k] = v as T;
      return out;
    };
    const ok = (f: () => unknown): boolean => {
      try {
        f();
        return true;
      } catch {
        return false;
      }
    };
    h.staging = keep<StagedRole>(o.staging, (v) => ok(() => checkStaged(v, 's')));
    h.syncMap = keep<number>(o.syncMap, isCount);
    h.ackMap = keep<number>(o.ackMap, isCount);
    if (isTime(o.stagingSince)) h.stagingSince = o.stagingSince;
    return { history: checkHistory(h), problem };
  }
}
