// The owner shown in listings (ListObjects, ListObjectVersions, ListMultipartUploads): the
// version's writer with its key name as DisplayName, as GetObjectAcl shows it.
import type { S3Ctx } from '../context.ts';
import type { XmlNode } from '../xml.ts';
import type { ObjectVersion } from '../../../model/object.ts';
import { bucketOwner } from '../../../model/bucket.ts';

/** Owner ids → DisplayName (the key's name, as GetObjectAcl shows it), read once per listing. */
export type OwnerNames = Map<string, string>;

/** The version's owner id (its writer; older versions: the bucket owner). */
function ownerId(ctx: S3Ctx, v: Pick<ObjectVersion, 'acl'>): string {
  return v.acl?.v.owner ?? (ctx.bucket && bucketOwner(ctx.bucket)) ?? ctx.accessKey?.id ?? '';
}

export async function ownerNames(ctx: S3Ctx, versions: Iterable<Pick<ObjectVersion, 'acl'>>): Promise<OwnerNames> {
  const names: OwnerNames = new Map();
  for (const v of versions) {
    const id = ownerId(ctx, v);
    if (!names.has(id)) names.set(id, (id !== '' ? (await ctx.store.key(id))?.name.v : undefined) ?? id);
  }
  return names;
}

export function owner(ctx: S3Ctx, v: Pick<ObjectVersion, 'acl'>, names: OwnerNames): XmlNode {
  const id = ownerId(ctx, v);
  return { ID: id, DisplayName: names.get(id) ?? id };
}
