/**
 * Object versions for the twin's S3 server, as the data bucket in AWS has them (it is versioned).
 *
 * Why: the import addresses exactly the version an event names (VersionId on head, read, copy and delete), so two
 * uploads of one name seconds apart are two files, each imported with its own bytes. s3rver keeps one object per key:
 * the second upload overwrote the first one's bytes before its import read them, and both events imported the second
 * content. Emulating versions in the S3 server itself (rather than, say, the SFTP front keeping copies) keeps the
 * handler and adapters byte for byte the same in AWS and locally, and covers every writer (SFTP, tests, tools).
 *
 * How (a Koa middleware in front of s3rver's routes, plus its store):
 * - Every write of an object (PUT, copy, multipart completion) gets a version id, returned as `x-amz-version-id` and
 *   carried in the object-created event (`s3.object.versionId`); the version's bytes are kept as a hidden object
 *   `~versions/<key>/<versionId>` (outside every prefix the SFTP users see). The key itself holds the current version,
 *   which is always the newest kept one while the key exists.
 * - `versionId=` on GET, HEAD, tagging and `x-amz-copy-source` reads that kept version. DELETE with `versionId=` removes
 *   that version; when it was the current one, the newest remaining version becomes current again (as in S3). DELETE
 *   without one removes the key only (S3 adds a delete marker; the versions stay readable by id).
 * - `GET /<bucket>?versions` (ListObjectVersions) lists the kept versions, newest first per key, as S3's
 *   `ListVersionsResult`: the import finds the version an upload event means by its ETag (Transfer Family's events
 *   carry no version id). No delete markers are modelled, so none are listed: a deleted key's versions are all
 *   non-current. The hidden keys themselves are never listed.
 * - Tags set on the key (the SFTP server marks a partial upload so) apply to its current version too.
 * - A write with `If-None-Match: *` onto a key that exists is refused with 412 PreconditionFailed (S3's conditional
 *   writes), checked under the key's lock, so of two such writes exactly one succeeds.
 * - Writes and version deletes of one key are serialized, so a version's copy is always of the bytes that request wrote.
 * Differences left: versions are never expired (no lifecycle rules); no delete markers; `encoding-type` is ignored.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

const VERSIONS_PREFIX = '~versions/';

export function versionKey(key: string, versionId: string): string {
  return `${VERSIONS_PREFIX}${key}/${versionId}`;
}

export function isVersionKey(key: string): boolean {
  return key.startsWith(VERSIONS_PREFIX);
}

/** The key a hidden version object belongs to (the key itself for any other object). */
export function keyOfVersion(key: string): string {
  return isVersionKey(key) ? key.slice(VERSIONS_PREFIX.length, key.lastIndexOf('/')) : key;
}

/** What s3rver's store lists for an object. */
export interface StoredObject {
  key: string;
  size: number;
  lastModifiedDate: Date;
  metadata: { etag?: string };
}

/** The store calls used here (s3rver's FilesystemStore). */
export interface VersionStore {
  copyObject(srcBucket: string, srcKey: string, destBucket: string, destKey: string): Promise<unknown>;
  deleteObject(bucket: string, key: string): Promise<unknown>;
  existsObject(bucket: string, key: string): Promise<boolean>;
  listObjects(
    bucket: string,
    options: { prefix?: string; delimiter?: string; maxKeys?: number; startAfter?: string },
  ): Promise<{ objects: StoredObject[]; isTruncated?: boolean }>;
  getSubresource(bucket: string, key: string, type: 'tagging'): Promise<unknown>;
  putSubresource(bucket: string, key: string, resource: unknown): Promise<void>;
  deleteSubresource(bucket: string, key: string, type: 'tagging'): Promise<void>;
}

/** The parts of a Koa context used here. */
interface Context {
  method: string;
  path: string;
  query: Record<string, string | string[] | undefined>;
  headers: Record<string, string | string[] | undefined>;
  status: number;
  body: unknown;
  type: string;
  set(name: string, value: string): void;
}

/** What a request in progress tells the event listener: the events it emits wait for its version to be kept. */
interface RequestScope {
  versionId?: string;
  key?: string;
  held: unknown[];
}

export interface Versioning {
  /** Koa middleware; must run before s3rver's routes. */
  middleware(ctx: Context, next: () => Promise<void>): Promise<void>;
  /**
   * Called by the server's event listener with each event record s3rver emits: returns false when the record must wait
   * (it is handed to `release` with its version id once the version is kept), true to deliver it now.
   */
  hold(record: unknown): boolean;
}

const xml = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function objectVersioning(
  bucket: string,
  store: VersionStore,
  release: (record: unknown, versionId: string, key: string) => void,
): Versioning {
  const scope = new AsyncLocalStorage<RequestScope>();
  const locks = new Map<string, Promise<unknown>>();
  let counter = 0;
  let lastMs = 0;

  /** Sortable: milliseconds, then a counter (several versions in one millisecond). */
  const newVersionId = () => {
    const ms = Date.now();
    counter = ms === lastMs ? counter + 1 : 0;
    lastMs = ms;
    return `${ms.toString().padStart(15, '0')}.${counter.toString().padStart(6, '0')}`;
  };

  const locked = async <T>(key: string, work: () => Promise<T>): Promise<T> => {
    const previous = locks.get(key) ?? Promise.resolve();
    const run = previous.catch(() => {}).then(work);
    locks.set(key, run);
    try {
      return await run;
    } finally {
      if (locks.get(key) === run) locks.delete(key);
    }
  };

  /** Version ids kept for the key, oldest first. */
  const versionsOf = async (key: string): Promise<string[]> => {
    const prefix = `${VERSIONS_PREFIX}${key}/`;
    const { objects } = await store.listObjects(bucket, { prefix, delimiter: '/' });
    return objects
      .map((o) => o.key.slice(prefix.length))
      .filter((id) => id && !id.includes('/'))
      .sort();
  };
  const currentVersion = async (key: string): Promise<string | undefined> =>
    (await store.existsObject(bucket, key)) ? (await versionsOf(key)).at(-1) : undefined;

  const copyTags = async (from: string, to: string) => {
    const tags = await store.getSubresource(bucket, from, 'tagging');
    if (tags) await store.putSubresource(bucket, to, tags);
    else await store.deleteSubresource(bucket, to, 'tagging');
  };

  const encodePath = (key: string) => `/${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
  const ok = (ctx: Context) => ctx.status >= 200 && ctx.status < 300;

  /**
   * Every stored object below the prefix, read a thousand at a time: the store reads each listed object's metadata
   * at once, so one unbounded listing of 10,000 versions opened more files than the machine allows (EMFILE).
   */
  const listInChunks = async (prefix: string): Promise<StoredObject[]> => {
    const all: StoredObject[] = [];
    let startAfter = '';
    for (;;) {
      const { objects, isTruncated } = await store.listObjects(bucket, { prefix, startAfter, maxKeys: 1000 });
      all.push(...objects);
      const last = objects.at(-1);
      if (!isTruncated || !last) return all;
      startAfter = last.key;
    }
  };

  /** ListObjectVersions from the hidden version objects: by key, then newest first; paged by key and version marker. */
  const listVersions = async (ctx: Context) => {
    const param = (name: string) => {
      const value = ctx.query[name];
      return typeof value === 'string' ? value : '';
    };
    const prefix = param('prefix');
    const keyMarker = param('key-marker');
    const versionIdMarker = param('version-id-marker');
    const maxKeys = Math.min(Math.max(Number(param('max-keys') || 1000) || 1000, 1), 1000);
    const objects = await listInChunks(`${VERSIONS_PREFIX}${prefix}`);
    const entries = objects
      .map((o) => ({ object: o, key: keyOfVersion(o.key), versionId: o.key.slice(o.key.lastIndexOf('/') + 1) }))
      .filter((e) => e.key.startsWith(prefix) && e.versionId)
      .sort((a, b) => (a.key !== b.key ? (a.key < b.key ? -1 : 1) : a.versionId < b.versionId ? 1 : -1));
    const after = entries.filter((e) =>
      versionIdMarker && e.key === keyMarker ? e.versionId < versionIdMarker : e.key > keyMarker,
    );
    const page = after.slice(0, maxKeys);
    const truncated = after.length > page.length;
    // The current version is the newest kept one while the key exists: read off `entries` (every version of these
    // keys, newest first), not listed again per key (a listing per key made a page cost O(objects in the bucket)).
    const newest = new Map<string, string>();
    for (const e of entries) if (!newest.has(e.key)) newest.set(e.key, e.versionId);
    const latest = new Map<string, string | undefined>();
    for (const key of new Set(page.map((e) => e.key))) {
      latest.set(key, (await store.existsObject(bucket, key)) ? newest.get(key) : undefined);
    }
    const last = page.at(-1);
    const versions = page.map(
      (e) =>
        `<Version><Key>${xml(e.key)}</Key><VersionId>${xml(e.versionId)}</VersionId>` +
        `<IsLatest>${latest.get(e.key) === e.versionId}</IsLatest>` +
        `<LastModified>${e.object.lastModifiedDate.toISOString()}</LastModified>` +
        `<ETag>${xml(e.object.metadata.etag ?? '')}</ETag><Size>${e.object.size}</Size>` +
        '<StorageClass>STANDARD</StorageClass></Version>',
    );
    ctx.status = 200;
    ctx.type = 'application/xml';
    ctx.body =
      '<?xml version="1.0" encoding="UTF-8"?>' +
      '<ListVersionsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
      `<Name>${xml(bucket)}</Name><Prefix>${xml(prefix)}</Prefix>` +
      `<KeyMarker>${xml(keyMarker)}</KeyMarker><VersionIdMarker>${xml(versionIdMarker)}</VersionIdMarker>` +
      (truncated && last
        ? `<NextKeyMarker>${xml(last.key)}</NextKeyMarker><NextVersionIdMarker>${xml(last.versionId)}</NextVersionIdMarker>`
        : '') +
      `<MaxKeys>${maxKeys}</MaxKeys><IsTruncated>${truncated}</IsTruncated>${versions.join('')}</ListVersionsResult>`;
  };

  return {
    hold(record) {
      const current = scope.getStore();
      if (!current) return true;
      current.held.push(record);
      return false;
    },

    async middleware(ctx, next) {
      const prefix = `/${bucket}/`;
      if ((ctx.path === prefix || ctx.path === `/${bucket}`) && 'versions' in ctx.query) {
        if (ctx.method.toUpperCase() !== 'GET') return next();
        await listVersions(ctx);
        return;
      }
      if (!ctx.path.startsWith(prefix) || ctx.path.length === prefix.length) return next();
      const key = decodeURIComponent(ctx.path.slice(prefix.length));
      if (isVersionKey(key)) return next();
      const { versionId: rawVersion, ...query } = ctx.query;
      const versionId = typeof rawVersion === 'string' && rawVersion !== 'null' ? rawVersion : undefined;
      // `x-id` names the SDK's operation (PutObject, GetObject...); any other parameter addresses a subresource.
      const params = Object.keys(query).filter((name) => name !== 'x-id');
      const subresource = params.includes('tagging') ? 'tagging' : params.length > 0 ? 'other' : undefined;
      const method = ctx.method.toUpperCase();
      // The route must not see `versionId` (a version is addressed by its hidden key instead).
      if (rawVersion !== undefined) (ctx as { query: unknown }).query = query;

      const readsVersion = method === 'GET' || method === 'HEAD' || (method === 'PUT' && subresource === 'tagging');
      if (versionId && readsVersion) {
        (ctx as { path: string }).path = encodePath(versionKey(key, versionId));
        await next();
        ctx.set('x-amz-version-id', versionId);
        // Tags put on the current version belong to the key as well.
        if (method === 'PUT' && ok(ctx) && (await currentVersion(key)) === versionId) {
          await copyTags(versionKey(key, versionId), key);
        }
        return;
      }

      if (method === 'DELETE' && versionId && !subresource) {
        await locked(key, async () => {
          const wasCurrent = (await currentVersion(key)) === versionId;
          (ctx as { path: string }).path = encodePath(versionKey(key, versionId));
          const held: RequestScope = { held: [] };
          await scope.run(held, next);
          ctx.set('x-amz-version-id', versionId);
          // The removal event names the key and the version, as S3's does (not the hidden key).
          for (const record of held.held) release(record, versionId, key);
          if (!ok(ctx) || !wasCurrent) return;
          await store.deleteObject(bucket, key);
          const previous = (await versionsOf(key)).at(-1);
          if (previous) {
            await store.copyObject(bucket, versionKey(key, previous), bucket, key);
            await copyTags(versionKey(key, previous), key);
          }
        });
        return;
      }

      const copySource = ctx.headers['x-amz-copy-source'];
      if (typeof copySource === 'string') {
        const [source, sourceQuery] = copySource.split('?');
        const sourceVersion = new URLSearchParams(sourceQuery ?? '').get('versionId');
        if (sourceVersion && sourceVersion !== 'null') {
          const [, ...rest] = decodeURIComponent(source!.replace(/^\//, '')).split('/');
          ctx.headers['x-amz-copy-source'] = encodeURI(`${bucket}/${versionKey(rest.join('/'), sourceVersion)}`);
        }
      }

      const writesObject =
        (method === 'PUT' && !subresource) || (method === 'POST' && typeof query.uploadId === 'string');
      if (writesObject) {
        await locked(key, async () => {
          // A conditional write (If-None-Match: *, on PutObject or CompleteMultipartUpload) onto an existing key is
          // refused with 412, as S3 refuses it: the exports rely on it never to overwrite a file.
          if (ctx.headers['if-none-match'] === '*' && (await store.existsObject(bucket, key))) {
            ctx.status = 412;
            ctx.set('content-type', 'application/xml');
            ctx.body =
              '<?xml version="1.0" encoding="UTF-8"?><Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message></Error>';
            return;
          }
          const id = newVersionId();
          const held: RequestScope = { versionId: id, key, held: [] };
          await scope.run(held, next);
          if (!ok(ctx)) return;
          await store.copyObject(bucket, key, bucket, versionKey(key, id));
          ctx.set('x-amz-version-id', id);
          for (const record of held.held) release(record, id, key);
        });
        return;
      }

      await next();
      if (method === 'PUT' && subresource === 'tagging' && ok(ctx)) {
        const current = await currentVersion(key);
        if (current) await copyTags(key, versionKey(key, current));
      }
    },
  };
}
