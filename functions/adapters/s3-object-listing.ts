import { ListObjectVersionsCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ObjectInfo, ObjectListing } from '../core/ports.ts';
import { bucketName } from './aws-clients.ts';

/**
 * The current objects below a prefix (ports.ts ObjectListing), from ListObjectVersions: it gives each version's id,
 * which ListObjectsV2 does not, and the arrival ledger keys a file by its version. Only the latest version of a key
 * is returned (`IsLatest`); a key whose latest entry is a delete marker has no latest version and is absent. The
 * cursor is the S3 key and version-id markers, as opaque text.
 */
export function s3ObjectListing(
  s3: S3Client,
  options: { env?: NodeJS.ProcessEnv; bucket?: string } = {},
): ObjectListing {
  const Bucket = options.bucket ?? bucketName(options.env);
  return {
    async listCurrent(prefix, cursor) {
      const marker = cursor ? (JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Marker) : undefined;
      const out = await s3.send(
        new ListObjectVersionsCommand({
          Bucket,
          Prefix: prefix,
          ...(marker?.k ? { KeyMarker: marker.k } : {}),
          ...(marker?.v ? { VersionIdMarker: marker.v } : {}),
        }),
      );
      const items: ObjectInfo[] = [];
      for (const v of out.Versions ?? []) {
        if (!v.IsLatest || !v.Key) continue;
        items.push({
          key: v.Key,
          ...(v.VersionId && v.VersionId !== 'null' ? { versionId: v.VersionId } : {}),
          etag: v.ETag ?? '',
          size: v.Size ?? 0,
          lastModified: v.LastModified ?? new Date(0),
        });
      }
      const next: Marker | undefined =
        out.IsTruncated && out.NextKeyMarker
          ? { k: out.NextKeyMarker, ...(out.NextVersionIdMarker ? { v: out.NextVersionIdMarker } : {}) }
          : undefined;
      return { items, ...(next ? { next: Buffer.from(JSON.stringify(next)).toString('base64url') } : {}) };
    },
  };
}

interface Marker {
  k: string;
  v?: string;
}
