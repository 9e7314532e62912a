// Block operations as Garage's (multi-node, ?node=): ListBlockErrors, GetBlockInfo,
// RetryBlockResync and PurgeBlocks, over the persistent resync queue and the block_ref table.
import type { AdminDeps, Handler } from './context.ts';
import { badRequest } from './http.ts';
import { multiNode } from './multi-node.ts';
import { abortUpload } from '../../model/uploads.ts';
import type { ObjectVersion } from '../../model/object.ts';

/** Hashes one RetryBlockResync or PurgeBlocks request may name. */
export const BLOCK_HASHES_MAX = 1000;
/** Block errors one ListBlockErrors answer lists per node. */
export const BLOCK_ERRORS_LISTED_MAX = 1000;
/** Block references GetBlockInfo lists (a block shared by more versions is reported as truncated). */
const BLOCK_REFS_LISTED_MAX = 1000;
/** Objects one PurgeBlocks scan reads per page. */
const SCAN_PAGE = 1000;

const HASH_RE = /^[0-9a-f]{64}$/;

function hashOf(x: unknown, field: string): Buffer {
  if (typeof x !== 'string' || !HASH_RE.test(x.toLowerCase())) throw badRequest(`${field} must be a block hash (64 hex characters)`);
  return Buffer.from(x.toLowerCase(), 'hex');
}

function hashList(x: unknown, field: string): Buffer[] {
  if (!Array.isArray(x)) throw badRequest(`${field} must be an array of block hashes`);
  if (x.length > BLOCK_HASHES_MAX) throw badRequest(`${field}: at most ${BLOCK_HASHES_MAX} block hashes per request`);
  return x.map((h, i) => hashOf(h, `${field}[${i}]`));
}

const secs = (ms: number): number => Math.max(0, Math.round(ms / 1000));

const listBlockErrors = multiNode('ListBlockErrors', {
  parse: () => null,
  run: async (deps) => {
    const now = Date.now();
    const blocks = deps.store.blocks;
    return blocks.resync.errors(BLOCK_ERRORS_LISTED_MAX).map((e) => ({
      blockHash: e.hash.toString('hex'),
      refcount: blocks.refcount(e.hash),
      errorCount: e.errors,
      lastTrySecsAgo: secs(now - e.lastTryAt),
      nextTryInSecs: secs(e.nextTryAt - now),
      lastError: e.lastError,
    }));
  },
});

const getBlockInfo = multiNode('GetBlockInfo', {
  parse: (body) => hashOf(body.blockHash, 'field "blockHash"'),
  run: async (deps, hash) => {
    const store = deps.store;
    const hex = hash.toString('hex');
    const refs = await store.blockRefs.range(hex, { limit: BLOCK_REFS_LISTED_MAX + 1 });
    const versions = [];
    for (const r of refs.slice(0, BLOCK_REFS_LISTED_MAX)) {
      const v = await store.versions.get(r.version, '');
      versions.push({
        versionId: r.version,
        refDeleted: r.deleted,
        versionDeleted: v?.deleted ?? false,
        garbageCollected: v === undefined,
        // The version table keeps no link back to its object: PurgeBlocks finds objects by a scan.
        backlink: null,
      });
    }
    const err = store.blocks.resync.errorOf(hash);
    return {
      blockHash: hex,
      refcount: store.blocks.refcount(hash),
      versions,
      versionsTruncated: refs.length > BLOCK_REFS_LISTED_MAX,
      storedHere: store.blocks.store.has(hash),
      resyncError: err ? { errorCount: err.errors, lastError: err.lastError, nextTryInSecs: secs(err.nextTryAt - Date.now()) } : null,
    };
  },
});

const retryBlockResync = multiNode('RetryBlockResync', {
  parse: (body): Buffer[] | 'all' => {
    if (body.all === true) {
      if (body.blockHashes !== undefined) throw badRequest('give either "all": true or "blockHashes", not both');
      return 'all';
    }
    if (body.all !== undefined && body.all !== false) throw badRequest('field "all" must be true or false');
    if (body.blockHashes === undefined) throw badRequest('the body must be {"all": true} or {"blockHashes": ["<hash>", ...]}');
    return hashList(body.blockHashes, 'field "blockHashes"');
  },
  run: async (deps, p) => {
    const q = deps.store.blocks.resync;
    if (p === 'all') return { count: q.retryNow() };
    // Only blocks in error are rescheduled (and counted); the others are not waiting for a retry.
    let count = 0;
    for (const h of p) if (q.errorOf(h)) count += q.retryNow(h);
    return { count };
  },
});

interface PurgeCounts {
  blocksPurged: number;
  objectsDeleted: number;
  uploadsDeleted: number;
  versionsDeleted: number;
  blockRefsPurged: number;
}

/** Garage's PurgeBlocks: every object version and unfinished upload that uses one of these blocks
 *  is deleted for good (their data is lost anyway), then the references themselves. */
async function purge(deps: AdminDeps, hashes: Buffer[]): Promise<PurgeCounts> {
  const store = deps.store;
  const out: PurgeCounts = { blocksPurged: 0, objectsDeleted: 0, uploadsDeleted: 0, versionsDeleted: 0, blockRefsPurged: 0 };
  const uuids = new Set<string>();
  for (const h of hashes) {
    const hex = h.toString('hex');
    const refs = (await store.blockRefs.range(hex)).filter((r) => !r.deleted);
    for (const r of refs) uuids.add(r.version);
    out.blockRefsPurged += refs.length;
    if (refs.length) await store.blockRefs.insertMany(refs.map((r) => ({ ...r, deleted: true })));
    out.blocksPurged++;
  }
  if (uuids.size === 0) return out;
  const uses = (v: ObjectVersion): 'object' | 'upload' | undefined => {
    if (v.state === 'aborted') return undefined;
    if (uuids.has(v.uuid)) return v.state === 'uploading' ? 'upload' : 'object';
    if (v.uploaded && Object.values(v.uploaded).some((p) => uuids.has(p.version))) return 'upload';
    return undefined;
  };
  for (const b of await store.liveBuckets()) {
    let after: string | undefined;
    for (;;) {
      const page = await store.objects.range(b.id, { after, limit: SCAN_PAGE });
      for (const o of page) {
        for (const v of o.versions) {
          const u = uses(v);
          if (u === 'upload' && v.multipart) {
            await abortUpload(store, b.id, o.key, v.uuid);
            out.uploadsDeleted++;
          } else if (u) {
            // 'aborted' is terminal: the version leaves the object and its data is released.
            await store.objects.insert({ bucket: b.id, key: o.key, versions: [{ ...v, state: 'aborted', uploaded: undefined }] });
            out.objectsDeleted++;
          }
        }
      }
      if (page.length < SCAN_PAGE) break;
      after = page[page.length - 1]!.key;
    }
  }
  for (const uuid of uuids) {
    const v = await store.versions.get(uuid, '');
    if (v && !v.deleted) {
      await store.versions.insert({ uuid, deleted: true, blocks: [] });
      out.versionsDeleted++;
    }
  }
  return out;
}

const purgeBlocks = multiNode('PurgeBlocks', {
  parse: (body) => {
    if (!Array.isArray(body.items)) throw badRequest('the body must be a JSON array of block hashes');
    return hashList(body.items, 'the body');
  },
  run: (deps, hashes) => purge(deps, hashes),
});

export const BLOCK_OPS: Record<string, Handler> = {
  ListBlockErrors: listBlockErrors,
  GetBlockInfo: getBlockInfo,
  RetryBlockResync: retryBlockResync,
  PurgeBlocks: purgeBlocks,
};
