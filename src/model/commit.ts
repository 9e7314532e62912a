// The one commit sequence of every write that makes an object version (PutObject, CopyObject,
// PostObject, multipart Complete, site deploys): the version's block list and references first,
// then the object entry that makes it visible, undoing the first when the second is never sent.
import type { Store } from './store.ts';
import type { Bucket } from './bucket.ts';
import type { ObjectEntry, ObjectVersion } from './object.ts';
import { sortBlocks, type BlockRef, type Completion } from './version.ts';
import type { StoredBlock } from '../block/manager.ts';
import { mark } from '../util/trace.ts';

/** Where the version's data is, and so what must be recorded before the object entry. */
export type CommitData =
  /** In the object entry itself: nothing to record. */
  | { inline: Buffer }
  /** Written with writeData(body, uuid): the block puts made the references; the list is
   *  embedded in the version when short, else written to the version table (store.commitBlocks). */
  | { stored: StoredBlock[] }
  /** Another version's embedded list (a copy): references added, the list embedded. */
  | { shared: BlockRef[] }
  /** A list kept in the version table (a copy of a long object): entry and references written. */
  | { listed: BlockRef[] }
  /** A multipart completion: the upload's version entry (with the completion stamp) and the
   *  references, written together. Written whole once begun and never undone: a retried
   *  Complete writes the same entries, and the parts hold the blocks until the object entry is in. */
  | { completion: Completion; blocks: BlockRef[] };

export interface Commit {
  bucket: Bucket;
  key: string;
  /** The version as it will be visible (meta and registers set); state and data are set here. */
  version: ObjectVersion;
  data: CommitData;
  /** The object entry read beforehand (null: none), given to putVersion; 'read': read here,
   *  after the references; undefined: putVersion decides. Unused for a completion. */
  existing?: ObjectEntry | null | 'read';
  /** 'now': stamped right before the object entry (of two overlapping writes the one that
   *  finishes last wins, as on S3): every write whose version was not written before. 'kept':
   *  the version's own timestamp, for a multipart completion (its version exists since the
   *  upload began, and a version has one timestamp in all its forms). */
  stamp: 'now' | 'kept';
  /** Throws when the write must not be committed (the API's late-write check: the client has
   *  gone). Called before the references and again right before the object entry (recording
   *  them may have waited on replicas); a completion is checked only before it begins. */
  mayCommit?: () => Promise<void>;
}

/** Commits a version whose data is stored: version entry / block references, then the object
 *  entry (putVersion's ordering; a completion's as stamped: model/object.ts keeps a version's one
 *  timestamp). If it fails before the object entry is sent, the references this write made are
 *  released (blocks nothing else holds are deleted at once) and the version entry is deleted;
 *  once sent, the entry may have reached a replica and may still appear, so everything is kept.
 *  Returns the version as written. */
export async function commitVersion(store: Store, c: Commit): Promise<ObjectVersion> {
  const { bucket: b, key, data } = c;
  const uuid = c.version.uuid;
  let v: ObjectVersion = { ...c.version, state: 'complete' };
  if ('completion' in data) {
    await c.mayCommit?.();
    // The final version references the blocks before the parts release theirs: refcounts never dip to 0.
    await Promise.all([
      store.versions.insert({ uuid, deleted: false, blocks: sortBlocks([...data.blocks]), completion: data.completion }),
      store.addRefs(uuid, data.blocks),
    ]);
    await store.objects.insert({ bucket: b.id, key, versions: [v] });
    return v;
  }
  if ('inline' in data) v.inline = data.inline;
  /** What to undo if the object entry is never sent. */
  let release: { hash: Buffer }[] = 'stored' in data ? data.stored : [];
  let versionEntry = false;
  let existing: ObjectEntry | null | undefined;
  try {
    if (!('inline' in data)) await c.mayCommit?.();
    if ('stored' in data) {
      v.blocks = await store.commitBlocks(uuid, data.stored);
      versionEntry = v.blocks === undefined;
    } else if ('shared' in data) {
      release = data.shared;
      await store.addRefs(uuid, data.shared);
      v.blocks = data.shared;
    } else if ('listed' in data) {
      versionEntry = true;
      await store.saveVersionBlocks(uuid, data.listed);
    }
    mark('refs recorded');
    existing = c.existing === 'read' ? ((await store.objects.get(b.id, key)) ?? null) : c.existing;
    await c.mayCommit?.();
    mark('may commit');
    if (c.stamp === 'now') v = { ...v, ts: store.ts() };
  } catch (e) {
    // A version entry no object entry will point at: deleted, so nothing keeps its blocks.
    if (versionEntry) await store.versions.insert({ uuid, deleted: true, blocks: [] }).catch(() => {});
    await store.releaseRefs(uuid, release).catch(() => {});
    throw e;
  }
  // From here the object entry may reach a replica even if this write fails: nothing is undone.
  v = { ...v, ts: await putVersion(store, b, key, v, existing) };
  mark('entry written');
  return v;
}

/** Whether a version may be written before its final timestamp is known (insertAfter): a form of
 *  it with an older timestamp, merged on some replica and pruned there, releases nothing (no
 *  blocks, version-table entry or multipart upload hangs on it). */
function rewritable(v: ObjectVersion): boolean {
  return v.state === 'complete' && !v.multipart && v.blocks === undefined && (v.inline !== undefined || v.deleteMarker);
}

/** Writes a version. Its timestamp is moved after every version already there, so a node whose
 *  clock lags still orders its write after what it replaces (the Jepsen-found bug class).
 *  Pass the entry read beforehand (or null if none) to save a round trip; without it an inline
 *  version or a delete marker is written at once and replicas holding a newer version make it
 *  written again after theirs (one round trip unless a clock lags). Returns the timestamp written. */
export async function putVersion(store: Store, b: Bucket, key: string, v: ObjectVersion, existing?: ObjectEntry | null): Promise<number> {
  if (existing === undefined && rewritable(v)) {
    const ts = await store.objects.insertAfter(v.ts, (ts) => ({ bucket: b.id, key, versions: [ts === v.ts ? v : { ...v, ts }] }));
    if (ts !== v.ts) store.observeTs(ts);
    return ts;
  }
  const cur = existing === undefined ? await store.objects.get(b.id, key) : existing;
  let ts = v.ts;
  for (const x of cur?.versions ?? []) if (x.uuid !== v.uuid && x.ts >= ts) ts = x.ts + 1;
  if (ts !== v.ts) {
    store.observeTs(ts);
    v = { ...v, ts };
  }
  await store.objects.insert({ bucket: b.id, key, versions: [v] });
  return ts;
}

/** What store.writeData returned, as commitVersion takes it. */
export function writtenData(d: { inline?: Buffer; blocks: StoredBlock[] }): CommitData {
  return d.inline !== undefined ? { inline: d.inline } : { stored: d.blocks };
}
