/**
 * The S3 calls the local SFTP server makes, through the official SDK exactly as against AWS.
 *
 * Local S3 (s3rver) quirks handled here, each verified against @20minutes/s3rver 4.0.4 with @aws-sdk/client-s3 3.1173:
 * - Bucket-level requests signed for path `/<bucket>/` fail with SignatureDoesNotMatch (s3rver canonicalizes
 *   `/<bucket>`): listing requests are sent to `/<bucket>` instead, which S3 accepts as well.
 * - Delimiter listings omit folders that hold only sub-folders, and a truncated ListObjectsV2 answers InternalError
 *   (its continuation token uses DES, absent from OpenSSL 3): listings walk ListObjects (v1) pages without a
 *   delimiter, using the last key as marker.
 * - Query values with ! ' ( ) * fail the signature check: listing prefixes and markers are shortened before them.
 * - Keys ending in `/` cannot be stored (signature mismatch), so empty directories are not written as markers.
 * - Tags survive an overwrite and a delete of the key (AWS starts every new object without tags): tags are cleared
 *   before an object is replaced or deleted, and checked after an upload.
 * - x-amz-copy-source is decoded with decodeURI: it is encoded with encodeURI, with a download-and-upload fallback.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectsCommand,
  type ListObjectsCommandOutput,
  PutObjectCommand,
  PutObjectTaggingCommand,
  type S3Client,
  type Tag,
} from '@aws-sdk/client-s3';

export interface ObjectInfo {
  size: number;
  mtime: Date;
}

export interface ListedObject extends ObjectInfo {
  key: string;
}

/**
 * s3rver canonicalizes query values with encodeURIComponent, the SDK signs them RFC 3986-encoded: they differ for
 * ! ' ( ) *. A prefix or marker is cut before the first of these (the caller filters the wider listing).
 */
function signableQueryValue(value: string): string {
  const cut = value.search(/[!'()*]/);
  return cut === -1 ? value : value.slice(0, cut);
}

export function isNotFound(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NotFound' || e?.name === 'NoSuchKey' || e?.$metadata?.httpStatusCode === 404;
}

export class S3Store {
  constructor(
    readonly s3: S3Client,
    readonly bucket: string,
  ) {}

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const out = await this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { size: out.ContentLength ?? 0, mtime: out.LastModified ?? new Date() };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /** Every object under the prefix (recursively); `limit` stops early. */
  async list(prefix: string, limit = Number.POSITIVE_INFINITY): Promise<ListedObject[]> {
    const found: ListedObject[] = [];
    const seen = new Set<string>();
    let marker: string | undefined;
    for (;;) {
      const out = await this.listPage(signableQueryValue(prefix), marker && signableQueryValue(marker));
      const contents = out.Contents ?? [];
      let progress = false;
      for (const o of contents) {
        if (o.Key === undefined || seen.has(o.Key)) continue;
        seen.add(o.Key);
        progress = true;
        if (!o.Key.startsWith(prefix)) continue;
        found.push({ key: o.Key, size: o.Size ?? 0, mtime: o.LastModified ?? new Date() });
        if (found.length >= limit) return found;
      }
      const last = contents.at(-1)?.Key;
      if (!out.IsTruncated || last === undefined || !progress) return found;
      marker = out.NextMarker ?? last;
    }
  }

  private listPage(prefix: string, marker: string | undefined): Promise<ListObjectsCommandOutput> {
    const command = new ListObjectsCommand({ Bucket: this.bucket, Prefix: prefix, Marker: marker, MaxKeys: 1000 });
    const bucketPath = `/${this.bucket}/`;
    command.middlewareStack.add(
      (next) => async (args) => {
        const request = args.request as { path?: string };
        if (request.path === bucketPath) request.path = bucketPath.slice(0, -1);
        return next(args);
      },
      { step: 'build', name: 'integratorBucketPathWithoutSlash' },
    );
    return this.s3.send(command);
  }

  async hasObjectsUnder(prefix: string): Promise<boolean> {
    return (await this.list(prefix, 1)).length > 0;
  }

  async getRange(key: string, start: number, endInclusive: number): Promise<Buffer> {
    const out = await this.s3.send(
      new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: `bytes=${start}-${endInclusive}` }),
    );
    return Buffer.from(await out.Body!.transformToByteArray());
  }

  async download(key: string, filePath: string): Promise<void> {
    const out = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    await pipeline(out.Body as NodeJS.ReadableStream, createWriteStream(filePath));
  }

  /**
   * Stores a staged file as the object; a body of known length, so nothing is chunk-encoded. Tags given here are sent
   * with the upload (x-amz-tagging, so S3 has them before any event) and must still be set afterwards: the local
   * server ignores that header. Returns the object's ETag.
   */
  async upload(key: string, filePath: string, size: number, tags: Tag[] = []): Promise<string | undefined> {
    const tagging = new URLSearchParams(tags.map((t): [string, string] => [t.Key ?? '', t.Value ?? ''])).toString();
    const out = await this.s3.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: size === 0 ? Buffer.alloc(0) : createReadStream(filePath),
        ContentLength: size,
        ...(tagging ? { Tagging: tagging } : {}),
      }),
    );
    return out.ETag;
  }

  async tags(key: string): Promise<Tag[]> {
    try {
      const out = await this.s3.send(new GetObjectTaggingCommand({ Bucket: this.bucket, Key: key }));
      return out.TagSet ?? [];
    } catch (error) {
      if (isNotFound(error)) return [];
      throw error;
    }
  }

  async setTags(key: string, tags: Tag[]): Promise<void> {
    await this.s3.send(new PutObjectTaggingCommand({ Bucket: this.bucket, Key: key, Tagging: { TagSet: tags } }));
  }

  /** Removes the tags of an existing object; true when there were any. */
  async clearTags(key: string): Promise<boolean> {
    if ((await this.tags(key)).length === 0) return false;
    await this.setTags(key, []);
    return true;
  }

  async delete(key: string): Promise<void> {
    await this.clearTags(key);
    await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  /** Copies an object with its tags (CopyObject, as S3 renames are copies). */
  async copy(source: string, target: string, stagingFile: string): Promise<void> {
    try {
      await this.s3.send(
        new CopyObjectCommand({ Bucket: this.bucket, Key: target, CopySource: encodeURI(`${this.bucket}/${source}`) }),
      );
    } catch (error) {
      if (!isNotFound(error)) throw error;
      // The source exists (the caller checked): the copy source did not decode to its key. Copy through a file.
      const info = await this.head(source);
      if (!info) throw error;
      await this.download(source, stagingFile);
      await this.upload(target, stagingFile, info.size);
    }
    const tags = await this.tags(source);
    // AWS copies tags by default and a new key starts without them; the local server does neither: make it so.
    if (tags.length > 0) await this.setTags(target, tags);
    else await this.clearTags(target);
  }
}
