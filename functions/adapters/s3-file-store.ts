import { Readable } from 'node:stream';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { type ByteSource, type FileStore, ObjectExistsError, type ObjectInfo, type ObjectRef } from '../core/ports.ts';
import { notAfterSlack, sameEtag } from '../core/version-match.ts';
import { bucketName } from './aws-clients.ts';

function status(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
}

function isMissing(err: unknown): boolean {
  const name = (err as { name?: string } | null)?.name;
  return name === 'NotFound' || name === 'NoSuchKey' || name === 'NoSuchVersion' || status(err) === 404;
}

function isPreconditionFailed(err: unknown): boolean {
  const name = (err as { name?: string } | null)?.name;
  return name === 'PreconditionFailed' || status(err) === 412;
}

/** `CopySource` wants the key URL-encoded (each segment; `/` kept), plus the version when there is one. */
export function copySource(bucket: string, ref: ObjectRef): string {
  const key = ref.key.split('/').map(encodeURIComponent).join('/');
  return `${bucket}/${key}${ref.versionId ? `?versionId=${encodeURIComponent(ref.versionId)}` : ''}`;
}

/**
 * The data bucket through the S3 API: the same code against AWS and the twin's S3 server. Every read, copy and
 * delete addresses the exact version the import claimed (VersionId in a versioned bucket, ETag conditions otherwise),
 * so a newer upload under the same name is never read half-way, archived in place of the old one, or deleted.
 */
export function s3FileStore(s3: S3Client, options: { env?: NodeJS.ProcessEnv; bucket?: string } = {}): FileStore {
  const Bucket = options.bucket ?? bucketName(options.env);
  const head = async (key: string, versionId?: string): Promise<ObjectInfo | undefined> => {
    try {
      const out = await s3.send(new HeadObjectCommand({ Bucket, Key: key, VersionId: versionId }));
      return {
        key,
        ...(out.VersionId && out.VersionId !== 'null' ? { versionId: out.VersionId } : {}),
        etag: out.ETag ?? '',
        size: out.ContentLength ?? 0,
        lastModified: out.LastModified ?? new Date(0),
      };
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  };
  return {
    head,

    async versionOf(key, etag, notAfter) {
      let KeyMarker: string | undefined;
      let VersionIdMarker: string | undefined;
      do {
        const out = await s3.send(new ListObjectVersionsCommand({ Bucket, Prefix: key, KeyMarker, VersionIdMarker }));
        // S3 lists each key's versions newest first, so the first match is the newest one. Delete markers are in
        // `DeleteMarkers`, not read here.
        for (const v of out.Versions ?? []) {
          if (v.Key !== key || !v.ETag || !sameEtag(v.ETag, etag) || !notAfterSlack(v.LastModified, notAfter)) continue;
          if (!v.VersionId || v.VersionId === 'null') {
            // Unversioned bucket: only the current object can be addressed.
            const current = await head(key);
            return current && sameEtag(current.etag, etag) && notAfterSlack(current.lastModified, notAfter)
              ? current
              : undefined;
          }
          return {
            key,
            versionId: v.VersionId,
            etag: v.ETag,
            size: v.Size ?? 0,
            lastModified: v.LastModified ?? new Date(0),
          };
        }
        if (!out.IsTruncated) return undefined;
        KeyMarker = out.NextKeyMarker;
        VersionIdMarker = out.NextVersionIdMarker;
      } while (KeyMarker);
      return undefined;
    },

    async tags(ref) {
      const out = await s3.send(new GetObjectTaggingCommand({ Bucket, Key: ref.key, VersionId: ref.versionId }));
      return Object.fromEntries((out.TagSet ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
    },

    async read(ref): Promise<ByteSource> {
      const out = await s3.send(
        new GetObjectCommand({
          Bucket,
          Key: ref.key,
          VersionId: ref.versionId,
          IfMatch: ref.versionId ? undefined : ref.etag,
        }),
      );
      const body = out.Body;
      if (!body) throw new Error(`s3://${Bucket}/${ref.key}: empty response body`);
      return body as unknown as ByteSource;
    },

    async write(key, body, contentType, options = {}) {
      const stream = Readable.from(
        (async function* () {
          for await (const chunk of body) yield Buffer.from(chunk, 'utf8');
        })(),
      );
      // Multipart (lib-storage: 5 MB parts, 4 in flight) for a large body, one PutObject for a small one; either way
      // the object appears only when complete. IfNoneMatch goes with the PutObject and the CompleteMultipartUpload.
      const params = { Bucket, Key: key, Body: stream, ContentType: contentType };
      try {
        await new Upload({ client: s3, params: options.ifAbsent ? { ...params, IfNoneMatch: '*' } : params }).done();
      } catch (err) {
        const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
        if (options.ifAbsent && (e.name === 'PreconditionFailed' || e.$metadata?.httpStatusCode === 412)) {
          throw new ObjectExistsError(key);
        }
        throw err;
      }
    },

    async copy(ref, toKey) {
      if (!ref.versionId && ref.etag) {
        // CopySourceIfMatch guards this in S3; s3rver ignores it, so check first as well.
        const current = await head(ref.key);
        if (!current || current.etag !== ref.etag) return false;
      }
      try {
        await s3.send(
          new CopyObjectCommand({
            Bucket,
            Key: toKey,
            CopySource: copySource(Bucket, ref),
            ...(ref.etag && !ref.versionId ? { CopySourceIfMatch: ref.etag } : {}),
          }),
        );
        return true;
      } catch (err) {
        if (isMissing(err) || isPreconditionFailed(err)) return false;
        throw err;
      }
    },

    async remove(ref) {
      if (!ref.versionId) {
        const current = await head(ref.key);
        if (!current) return true;
        if (ref.etag && current.etag !== ref.etag) return false;
      }
      await s3.send(new DeleteObjectCommand({ Bucket, Key: ref.key, VersionId: ref.versionId }));
      return true;
    },
  };
}
