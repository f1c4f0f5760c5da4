/**
 * One SFTP session of an organization's user: the SFTP v3 requests OpenSSH, WinSCP and scp send, answered from S3 the
 * way AWS Transfer Family answers them for a service-managed user with a logical home directory. What the user may do
 * in each folder is AREA_ACCESS (functions/core/transfer/layout.ts), the permissions its IAM role has in AWS.
 */
import { randomUUID } from 'node:crypto';
import { type FileHandle, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import ssh2, { type Attributes, type FileEntry, type SFTPWrapper } from 'ssh2';
import { AREA_ACCESS, type Area, type AreaAccess } from '../../../functions/core/transfer/layout.ts';
import { type LogicalPath, resolvePath, rootFolders } from './paths.ts';
import type { ObjectInfo, S3Store } from './s3-store.ts';
import { type UploadEventSink, uploadEvent } from './upload-events.ts';

// ssh2 is CommonJS: Node's ESM loader sees only some of its named exports, so take them from the default export.
const { OPEN_MODE, STATUS_CODE } = ssh2.utils.sftp;

/** The tag that marks an upload the client never closed (what the OnPartialUpload workflow does in AWS). */
export const PARTIAL_UPLOAD_TAG = { Key: 'integrator-upload', Value: 'partial' } as const;

const READDIR_BATCH = 100;
const READ_AHEAD = 1024 * 1024;
const MAX_HANDLES = 256;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;

export type LogFn = (entry: { event: string; [field: string]: unknown }) => void;

/** State shared by all sessions of one server. */
export interface SessionContext {
  store: S3Store;
  stagingDir: string;
  /** Empty directories made with MKDIR, as `inbound/<org>/sub/` prefixes (S3 has no directories). */
  emptyDirs: Set<string>;
  log: LogFn;
  /** Registers work that must finish before the server stops (uploads of closed or abandoned files). */
  track(work: Promise<unknown>): void;
  /** Sessions not yet finished, so a stopping server can finish them. */
  sessions: Set<SftpSession>;
  /** Where each upload's end is announced (Transfer Family's Upload Completed / Failed events). */
  onUploadEvent?: UploadEventSink;
}

export interface SessionUser {
  username: string;
  org: string;
  client: string;
  /** The SSH session's id: Transfer Family's `session-id` in upload events. */
  sessionId?: string;
}

class SftpError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

const fail = (code: number, message: string) => new SftpError(code, message);

interface DirHandle {
  type: 'dir';
  path: LogicalPath;
  entries?: FileEntry[];
  next: number;
}

interface ReadHandle {
  type: 'read';
  area: Area;
  path: string;
  key: string;
  info: ObjectInfo;
  cache?: { start: number; data: Buffer };
  chain: Promise<unknown>;
}

interface WriteHandle {
  type: 'write';
  openedAt: Date;
  key: string;
  path: string;
  tempPath: string;
  file: FileHandle;
  append: boolean;
  readable: boolean;
  size: number;
  received: number;
  failed: boolean;
  chain: Promise<unknown>;
}

type Handle = DirHandle | ReadHandle | WriteHandle;

/** Runs `work` after everything queued on the handle, so writes land in order and a close sees them all. */
function queue<T>(handle: ReadHandle | WriteHandle, work: () => Promise<T>): Promise<T> {
  const result = handle.chain.then(work);
  handle.chain = result.catch(() => undefined);
  return result;
}

function dirAttrs(mtime: number): Attributes {
  return { mode: S_IFDIR | 0o755, uid: 0, gid: 0, size: 0, atime: mtime, mtime };
}

function fileAttrs(info: ObjectInfo): Attributes {
  const mtime = Math.floor(info.mtime.getTime() / 1000);
  return { mode: S_IFREG | 0o644, uid: 0, gid: 0, size: info.size, atime: mtime, mtime };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `ls -l` style line, as OpenSSH's sftp-server writes it. */
export function longname(name: string, attrs: Attributes, owner: string, now = Date.now()): string {
  const dir = (attrs.mode & 0o170000) === S_IFDIR;
  const bits = 'rwxrwxrwx'
    .split('')
    .map((c, i) => (attrs.mode & (1 << (8 - i)) ? c : '-'))
    .join('');
  const date = new Date(attrs.mtime * 1000);
  const recent = Math.abs(now - date.getTime()) < 182 * 24 * 3600 * 1000;
  const day = String(date.getUTCDate()).padStart(2, ' ');
  const time = recent
    ? `${String(date.getUTCHours()).padStart(2, '0')}:${String(date.getUTCMinutes()).padStart(2, '0')}`
    : ` ${date.getUTCFullYear()}`;
  return `${dir ? 'd' : '-'}${bits} ${String(1).padStart(3)} ${owner.padEnd(8)} ${owner.padEnd(8)} ${String(
    attrs.size,
  ).padStart(8)} ${MONTHS[date.getUTCMonth()]} ${day} ${time} ${name}`;
}

export class SftpSession {
  private readonly handles = new Map<number, Handle>();
  private nextHandle = 1;
  private finished = false;
  /** Requests still being answered, and what waits for them all. */
  private inflight = 0;
  private onIdle: (() => void) | undefined;
  private readonly startedAt = Math.floor(Date.now() / 1000);

  constructor(
    private readonly sftp: SFTPWrapper,
    private readonly user: SessionUser,
    private readonly ctx: SessionContext,
  ) {
    this.register();
    ctx.sessions.add(this);
  }

  private register(): void {
    const s = this.sftp;
    s.on('REALPATH', (id, path) => this.run(id, 'REALPATH', () => this.realpath(id, path)));
    s.on('STAT', (id, path) => this.run(id, 'STAT', async () => this.reply(id, await this.stat(path))));
    s.on('LSTAT', (id, path) => this.run(id, 'LSTAT', async () => this.reply(id, await this.stat(path))));
    s.on('FSTAT', (id, handle) => this.run(id, 'FSTAT', () => this.fstat(id, handle)));
    s.on('OPENDIR', (id, path) => this.run(id, 'OPENDIR', () => this.opendir(id, path)));
    s.on('READDIR', (id, handle) => this.run(id, 'READDIR', () => this.readdir(id, handle)));
    s.on('OPEN', (id, path, flags, attrs) => this.run(id, 'OPEN', () => this.open(id, path, flags, attrs)));
    s.on('READ', (id, handle, offset, length) => this.run(id, 'READ', () => this.read(id, handle, offset, length)));
    // The payload may be a view into a buffer ssh2 reuses: copy it before any await.
    s.on('WRITE', (id, handle, offset, data) =>
      this.run(id, 'WRITE', () => this.write(id, handle, offset, Buffer.from(data))),
    );
    s.on('FSETSTAT', (id, handle, attrs) => this.run(id, 'FSETSTAT', () => this.fsetstat(id, handle, attrs)));
    s.on('SETSTAT', (id, path, attrs) => this.run(id, 'SETSTAT', () => this.setstat(id, path, attrs)));
    s.on('CLOSE', (id, handle) => this.run(id, 'CLOSE', () => this.close(id, handle)));
    s.on('REMOVE', (id, path) => this.run(id, 'REMOVE', () => this.remove(id, path)));
    s.on('RENAME', (id, from, to) => this.run(id, 'RENAME', () => this.rename(id, from, to)));
    s.on('MKDIR', (id, path) => this.run(id, 'MKDIR', () => this.mkdir(id, path)));
    s.on('RMDIR', (id, path) => this.run(id, 'RMDIR', () => this.rmdir(id, path)));
    // READLINK, SYMLINK and EXTENDED have no listener: ssh2 answers OP_UNSUPPORTED.
    s.on('end', () => {
      this.finish('end');
      // Answer what the client already asked for, then say goodbye.
      if (this.inflight === 0) this.endChannel();
      else this.onIdle = () => this.endChannel();
    });
    s.on('close', () => this.finish('close'));
  }

  private log(event: string, fields: Record<string, unknown> = {}): void {
    this.ctx.log({ event, user: this.user.username, org: this.user.org, ...fields });
  }

  /** Runs a request; SftpErrors become their status, anything else FAILURE (and a log line). */
  private run(id: number, op: string, work: () => Promise<void>): void {
    this.inflight++;
    work()
      .catch((error: unknown) => {
        if (error instanceof SftpError) return this.status(id, error.code, error.message);
        this.log('request_failed', { op, error: error instanceof Error ? error.message : String(error) });
        this.status(id, STATUS_CODE.FAILURE, 'Failure');
      })
      .finally(() => {
        if (--this.inflight === 0 && this.onIdle) {
          const idle = this.onIdle;
          this.onIdle = undefined;
          idle();
        }
      });
  }

  /** Replies are dropped once the client is gone (its requests still run to completion). */
  private respond(send: () => void): void {
    try {
      send();
    } catch {
      // channel closed
    }
  }

  private status(id: number, code: number, message?: string): void {
    this.respond(() => this.sftp.status(id, code, message));
  }

  private ok(id: number): void {
    this.status(id, STATUS_CODE.OK);
  }

  private reply(id: number, attrs: Attributes): void {
    this.respond(() => this.sftp.attrs(id, attrs));
  }

  /** OpenSSH's sftp waits for an exit status before it exits; then the channel is closed. */
  private endChannel(): void {
    const channel = this.sftp as unknown as {
      outgoing: { id: number; state: string };
      _protocol: { exitStatus(channel: number, status: number): void };
    };
    try {
      if (channel.outgoing.state === 'open') channel._protocol.exitStatus(channel.outgoing.id, 0);
      this.sftp.end();
    } catch {
      // connection already gone
    }
  }

  private resolve(path: string): LogicalPath {
    return resolvePath(path, this.user.org);
  }

  /**
   * Refuses what the user may not do in the folder of `target` (AREA_ACCESS, what the role of the Transfer Family
   * user allows): PERMISSION_DENIED, as Transfer Family answers when S3 denies the call. Checked before any S3 call,
   * so a refused request changes nothing.
   */
  private requireAccess(op: string, target: { area: Area; path: string }, permission: keyof AreaAccess): void {
    if (AREA_ACCESS[target.area][permission]) return;
    this.log('permission_denied', {
      op,
      path: target.path,
      area: target.area,
      permission,
      client: this.user.client,
    });
    throw fail(STATUS_CODE.PERMISSION_DENIED, 'Permission denied');
  }

  private handleOf(raw: Buffer): Handle {
    const handle = raw.length === 4 ? this.handles.get(raw.readUInt32BE(0)) : undefined;
    if (!handle) throw fail(STATUS_CODE.FAILURE, 'Invalid handle');
    return handle;
  }

  private addHandle(id: number, handle: Handle): void {
    if (this.finished) {
      // The client left while this OPEN was being answered: it never got the handle, nothing was written.
      if (handle.type === 'write') {
        handle.file
          .close()
          .finally(() => rm(handle.tempPath, { force: true }))
          .catch(() => undefined);
      }
      return;
    }
    const n = this.nextHandle++;
    this.handles.set(n, handle);
    const raw = Buffer.alloc(4);
    raw.writeUInt32BE(n, 0);
    this.respond(() => this.sftp.handle(id, raw));
  }

  private checkHandleLimit(): void {
    if (this.handles.size >= MAX_HANDLES) throw fail(STATUS_CODE.FAILURE, 'Too many open files');
  }

  /** Whether MKDIR made a directory at or below `key` (those exist without objects). */
  private madeDirectoryAt(key: string): boolean {
    const prefix = `${key}/`;
    for (const dir of this.ctx.emptyDirs) if (dir.startsWith(prefix)) return true;
    return false;
  }

  private async isDirectory(key: string): Promise<boolean> {
    return this.madeDirectoryAt(key) || (await this.ctx.store.hasObjectsUnder(`${key}/`));
  }

  private async stat(raw: string): Promise<Attributes> {
    const path = this.resolve(raw);
    switch (path.kind) {
      case 'root':
      case 'folder':
        return dirAttrs(this.startedAt);
      case 'outside':
        throw fail(STATUS_CODE.NO_SUCH_FILE, 'No such file');
      case 'entry': {
        const info = await this.ctx.store.head(path.key);
        if (info) return fileAttrs(info);
        if (await this.isDirectory(path.key)) return dirAttrs(this.startedAt);
        throw fail(STATUS_CODE.NO_SUCH_FILE, 'No such file');
      }
    }
  }

  private async realpath(id: number, raw: string): Promise<void> {
    const path = this.resolve(raw).path;
    this.respond(() => this.sftp.name(id, [{ filename: path, longname: path, attrs: {} as Attributes }]));
  }

  private async fstat(id: number, raw: Buffer): Promise<void> {
    const handle = this.handleOf(raw);
    if (handle.type === 'dir') return this.reply(id, dirAttrs(this.startedAt));
    if (handle.type === 'read') return this.reply(id, fileAttrs(handle.info));
    const size = await queue(handle, async () => handle.size);
    this.reply(id, fileAttrs({ size, mtime: new Date() }));
  }

  // --- directories -------------------------------------------------------------------------------------------------

  private async opendir(id: number, raw: string): Promise<void> {
    const path = this.resolve(raw);
    if (path.kind === 'outside') throw fail(STATUS_CODE.NO_SUCH_FILE, 'No such file');
    if (path.kind === 'entry') {
      if (!(await this.isDirectory(path.key))) {
        if (await this.ctx.store.head(path.key)) throw fail(STATUS_CODE.FAILURE, 'Not a directory');
        throw fail(STATUS_CODE.NO_SUCH_FILE, 'No such file');
      }
    }
    this.checkHandleLimit();
    this.addHandle(id, { type: 'dir', path, next: 0 });
  }

  private async listing(path: LogicalPath): Promise<FileEntry[]> {
    const owner = this.user.username;
    const entry = (name: string, attrs: Attributes): FileEntry => ({
      filename: name,
      longname: longname(name, attrs, owner),
      attrs,
    });
    if (path.kind === 'root') return rootFolders(this.user.org).map((name) => entry(name, dirAttrs(this.startedAt)));
    if (path.kind === 'outside') return [];
    const prefix = path.kind === 'folder' ? path.prefix : `${path.key}/`;
    const files = new Map<string, Attributes>();
    const dirs = new Set<string>();
    for (const object of await this.ctx.store.list(prefix)) {
      const rest = object.key.slice(prefix.length);
      const slash = rest.indexOf('/');
      if (slash === -1) files.set(rest, fileAttrs(object));
      else if (slash > 0) dirs.add(rest.slice(0, slash));
    }
    for (const dir of this.ctx.emptyDirs) {
      if (!dir.startsWith(prefix)) continue;
      const name = dir.slice(prefix.length).split('/')[0];
      if (name) dirs.add(name);
    }
    const entries: FileEntry[] = [];
    for (const name of dirs) if (!files.has(name)) entries.push(entry(name, dirAttrs(this.startedAt)));
    for (const [name, attrs] of files) if (name !== '') entries.push(entry(name, attrs));
    return entries.sort((a, b) => (a.filename < b.filename ? -1 : a.filename > b.filename ? 1 : 0));
  }

  private async readdir(id: number, raw: Buffer): Promise<void> {
    const handle = this.handleOf(raw);
    if (handle.type !== 'dir') throw fail(STATUS_CODE.FAILURE, 'Not a directory handle');
    handle.entries ??= await this.listing(handle.path);
    const batch = handle.entries.slice(handle.next, handle.next + READDIR_BATCH);
    handle.next += batch.length;
    if (batch.length === 0) throw fail(STATUS_CODE.EOF, 'End of directory');
    this.respond(() => this.sftp.name(id, batch));
  }

  private async mkdir(id: number, raw: string): Promise<void> {
    const path = this.resolve(raw);
    if (path.kind === 'root' || path.kind === 'outside') throw fail(STATUS_CODE.PERMISSION_DENIED, 'Permission denied');
    if (path.kind === 'folder') throw fail(STATUS_CODE.FAILURE, 'Directory exists');
    this.requireAccess('MKDIR', path, 'write');
    if ((await this.ctx.store.head(path.key)) || (await this.isDirectory(path.key))) {
      throw fail(STATUS_CODE.FAILURE, 'File exists');
    }
    this.ctx.emptyDirs.add(`${path.key}/`);
    this.ok(id);
  }

  private async rmdir(id: number, raw: string): Promise<void> {
    const path = this.resolve(raw);
    if (path.kind !== 'entry') {
      throw fail(
        path.kind === 'outside' ? STATUS_CODE.NO_SUCH_FILE : STATUS_CODE.PERMISSION_DENIED,
        path.kind === 'outside' ? 'No such file' : 'Permission denied',
      );
    }
    this.requireAccess('RMDIR', path, 'delete');
    const prefix = `${path.key}/`;
    const nested = [...this.ctx.emptyDirs].some((dir) => dir !== prefix && dir.startsWith(prefix));
    if (nested || (await this.ctx.store.hasObjectsUnder(prefix)))
      throw fail(STATUS_CODE.FAILURE, 'Directory not empty');
    if (this.ctx.emptyDirs.delete(prefix)) return this.ok(id);
    if (await this.ctx.store.head(path.key)) throw fail(STATUS_CODE.FAILURE, 'Not a directory');
    throw fail(STATUS_CODE.NO_SUCH_FILE, 'No such file');
  }

  // --- files -------------------------------------------------------------------------------------------------------

  private async open(id: number, raw: string, flags: number, _attrs: Attributes): Promise<void> {
    const path = this.resolve(raw);
    // ssh2's flagsToString() has no name for WRITE|CREAT without TRUNC (OpenSSH 9's scp): read the bits.
    const writing = (flags & (OPEN_MODE.WRITE | OPEN_MODE.APPEND)) !== 0;
    // Creating or truncating changes the folder too, even when the client does not write a byte.
    const modifying = writing || (flags & (OPEN_MODE.CREAT | OPEN_MODE.TRUNC)) !== 0;
    if (path.kind === 'root' || path.kind === 'outside') {
      if (writing || path.kind === 'root') throw fail(STATUS_CODE.PERMISSION_DENIED, 'Permission denied');
      throw fail(STATUS_CODE.NO_SUCH_FILE, 'No such file');
    }
    if (path.kind === 'folder') throw fail(STATUS_CODE.FAILURE, 'Is a directory');
    if (!writing || (flags & OPEN_MODE.READ) !== 0) this.requireAccess('OPEN', path, 'read');
    if (modifying) this.requireAccess('OPEN', path, 'write');
    this.checkHandleLimit();
    const store = this.ctx.store;
    const existing = await store.head(path.key);
    if (!existing && (await this.isDirectory(path.key))) throw fail(STATUS_CODE.FAILURE, 'Is a directory');
    if (!writing) {
      if (!existing) throw fail(STATUS_CODE.NO_SUCH_FILE, 'No such file');
      return this.addHandle(id, {
        type: 'read',
        area: path.area,
        path: path.path,
        key: path.key,
        info: existing,
        chain: Promise.resolve(),
      });
    }
    if (existing && flags & OPEN_MODE.CREAT && flags & OPEN_MODE.EXCL) throw fail(STATUS_CODE.FAILURE, 'File exists');
    if (!existing && !(flags & OPEN_MODE.CREAT)) throw fail(STATUS_CODE.NO_SUCH_FILE, 'No such file');
    const tempPath = join(this.ctx.stagingDir, randomUUID());
    let size = 0;
    if (existing && !(flags & OPEN_MODE.TRUNC)) {
      // Writing into an existing file without truncating it (scp, resumed uploads): start from its content.
      await store.download(path.key, tempPath);
      size = existing.size;
    }
    const file = await open(tempPath, size > 0 ? 'r+' : 'w+', 0o600);
    this.addHandle(id, {
      type: 'write',
      openedAt: new Date(),
      key: path.key,
      path: path.path,
      tempPath,
      file,
      append: (flags & OPEN_MODE.APPEND) !== 0,
      readable: (flags & OPEN_MODE.READ) !== 0,
      size,
      received: 0,
      failed: false,
      chain: Promise.resolve(),
    });
  }

  private async read(id: number, raw: Buffer, offset: number, length: number): Promise<void> {
    const handle = this.handleOf(raw);
    if (handle.type === 'dir') throw fail(STATUS_CODE.FAILURE, 'Is a directory');
    if (handle.type === 'write') {
      if (!handle.readable) throw fail(STATUS_CODE.PERMISSION_DENIED, 'File not open for reading');
      const data = await queue(handle, async () => {
        const buffer = Buffer.alloc(Math.max(0, Math.min(length, handle.size - offset)));
        if (buffer.length === 0) return buffer;
        const { bytesRead } = await handle.file.read(buffer, 0, buffer.length, offset);
        return buffer.subarray(0, bytesRead);
      });
      if (data.length === 0) throw fail(STATUS_CODE.EOF, 'End of file');
      return this.respond(() => this.sftp.data(id, data));
    }
    const size = handle.info.size;
    if (offset >= size || length <= 0) throw fail(STATUS_CODE.EOF, 'End of file');
    const data = await queue(handle, async () => {
      const end = Math.min(offset + length, size);
      const cached = handle.cache;
      if (!cached || offset < cached.start || end > cached.start + cached.data.length) {
        const fetchEnd = Math.min(size, offset + Math.max(length, READ_AHEAD));
        handle.cache = { start: offset, data: await this.ctx.store.getRange(handle.key, offset, fetchEnd - 1) };
      }
      const c = handle.cache!;
      return c.data.subarray(offset - c.start, Math.min(end - c.start, c.data.length));
    });
    if (data.length === 0) throw fail(STATUS_CODE.EOF, 'End of file');
    this.respond(() => this.sftp.data(id, data));
  }

  private async write(id: number, raw: Buffer, offset: number, data: Buffer): Promise<void> {
    const handle = this.handleOf(raw);
    if (handle.type !== 'write') throw fail(STATUS_CODE.PERMISSION_DENIED, 'File not open for writing');
    await queue(handle, async () => {
      const position = handle.append ? handle.size : offset;
      try {
        await handle.file.write(data, 0, data.length, position);
      } catch (error) {
        handle.failed = true;
        throw error;
      }
      handle.size = Math.max(handle.size, position + data.length);
      handle.received += data.length;
    });
    this.ok(id);
  }

  private async fsetstat(id: number, raw: Buffer, attrs: Attributes): Promise<void> {
    const handle = this.handleOf(raw);
    if (typeof attrs.size === 'number') {
      // Write handles exist only where the user may write; a read handle elsewhere is a refused truncation.
      if (handle.type === 'read') this.requireAccess('FSETSTAT', handle, 'write');
      if (handle.type !== 'write') throw fail(STATUS_CODE.PERMISSION_DENIED, 'File not open for writing');
      const size = attrs.size;
      await queue(handle, async () => {
        await handle.file.truncate(size);
        handle.size = size;
      });
    }
    // Modes, owners and times are accepted and ignored, as S3 keeps none of them.
    this.ok(id);
  }

  private async setstat(id: number, raw: string, attrs: Attributes): Promise<void> {
    const path = this.resolve(raw);
    if (path.kind === 'outside') throw fail(STATUS_CODE.NO_SUCH_FILE, 'No such file');
    if (path.kind !== 'entry') {
      if (typeof attrs.size === 'number') throw fail(STATUS_CODE.PERMISSION_DENIED, 'Permission denied');
      return this.ok(id);
    }
    // Only a size changes stored content; modes, owners and times are accepted and ignored everywhere.
    if (typeof attrs.size === 'number') this.requireAccess('SETSTAT', path, 'write');
    const info = await this.ctx.store.head(path.key);
    if (!info) {
      if (await this.isDirectory(path.key)) return this.ok(id);
      throw fail(STATUS_CODE.NO_SUCH_FILE, 'No such file');
    }
    if (typeof attrs.size === 'number' && attrs.size !== info.size) {
      // Truncating a stored file: S3 objects are immutable, so it is rewritten.
      const tempPath = join(this.ctx.stagingDir, randomUUID());
      try {
        await this.ctx.store.download(path.key, tempPath);
        const file = await open(tempPath, 'r+');
        await file.truncate(attrs.size);
        await file.close();
        await this.ctx.store.clearTags(path.key);
        await this.ctx.store.upload(path.key, tempPath, attrs.size);
      } finally {
        await rm(tempPath, { force: true });
      }
    }
    this.ok(id);
  }

  private async close(id: number, raw: Buffer): Promise<void> {
    const handle = this.handleOf(raw);
    this.handles.delete(raw.readUInt32BE(0));
    if (handle.type !== 'write') return this.ok(id);
    // A failed write means the client got an error for part of the file: what is stored must not look complete.
    const outcome = await this.commit(handle, 'closed');
    if (outcome === 'partial') throw fail(STATUS_CODE.FAILURE, 'Upload incomplete: a write failed');
    this.ok(id);
  }

  /**
   * Stores a write handle's staged file as the object. An upload the client closed is complete; one left open when
   * the session ended is stored too but tagged partial, as Transfer Family keeps the part it received.
   */
  private commit(handle: WriteHandle, reason: 'closed' | 'abandoned'): Promise<'complete' | 'partial'> {
    const work = (async () => {
      const store = this.ctx.store;
      try {
        await handle.chain;
        await handle.file.close();
        const outcome = reason === 'closed' && !handle.failed ? 'complete' : 'partial';
        // Clear tags first so the ObjectCreated event never sees the tags of an earlier object at this key.
        await store.clearTags(handle.key);
        const tags = outcome === 'partial' ? [{ ...PARTIAL_UPLOAD_TAG }] : [];
        const etag = await store.upload(handle.key, handle.tempPath, handle.size, tags);
        if (outcome === 'partial') {
          await store.setTags(handle.key, [{ ...PARTIAL_UPLOAD_TAG }]);
          this.log('partial_close', { path: handle.path, key: handle.key, bytes: handle.size, reason });
        } else {
          if (await store.clearTags(handle.key)) this.log('stale_tags_cleared', { key: handle.key });
          this.log('upload', { path: handle.path, key: handle.key, bytes: handle.size });
        }
        // Only once the object (and its tag) is stored, as Transfer Family announces an upload that has ended.
        this.announce(handle, outcome, etag, reason);
        return outcome;
      } catch (error) {
        this.log('upload_failed', {
          path: handle.path,
          key: handle.key,
          error: error instanceof Error ? error.message : String(error),
        });
        throw error;
      } finally {
        await rm(handle.tempPath, { force: true });
      }
    })();
    this.ctx.track(work);
    return work;
  }

  private announce(
    handle: WriteHandle,
    outcome: 'complete' | 'partial',
    etag: string | undefined,
    reason: 'closed' | 'abandoned',
  ): void {
    const sink = this.ctx.onUploadEvent;
    if (!sink) return;
    const [clientIp = this.user.client] = this.user.client.split(/:(?=\d+$)/);
    try {
      sink(
        uploadEvent({
          outcome,
          bucket: this.ctx.store.bucket,
          key: handle.key,
          bytes: handle.size,
          ...(etag ? { etag } : {}),
          username: this.user.username,
          sessionId: this.user.sessionId ?? 'local',
          clientIp,
          startedAt: handle.openedAt,
          endedAt: new Date(),
          ...(outcome === 'partial'
            ? {
                failureMessage:
                  reason === 'abandoned' ? 'the session ended with the file still open' : 'a write to the file failed',
              }
            : {}),
        }),
      );
    } catch (error) {
      // Best-effort, as in AWS: the object and its tag are stored either way.
      this.log('upload_event_failed', {
        key: handle.key,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }

  private async remove(id: number, raw: string): Promise<void> {
    const path = this.resolve(raw);
    if (path.kind === 'outside') throw fail(STATUS_CODE.NO_SUCH_FILE, 'No such file');
    if (path.kind !== 'entry') throw fail(STATUS_CODE.PERMISSION_DENIED, 'Permission denied');
    this.requireAccess('REMOVE', path, 'delete');
    if (!(await this.ctx.store.head(path.key))) {
      if (await this.isDirectory(path.key)) throw fail(STATUS_CODE.FAILURE, 'Is a directory');
      throw fail(STATUS_CODE.NO_SUCH_FILE, 'No such file');
    }
    await this.ctx.store.delete(path.key);
    this.log('delete', { path: path.path, key: path.key });
    this.ok(id);
  }

  private async rename(id: number, rawFrom: string, rawTo: string): Promise<void> {
    const from = this.resolve(rawFrom);
    const to = this.resolve(rawTo);
    if (from.kind === 'outside') throw fail(STATUS_CODE.NO_SUCH_FILE, 'No such file');
    if (from.kind !== 'entry' || to.kind !== 'entry') throw fail(STATUS_CODE.PERMISSION_DENIED, 'Permission denied');
    // A rename is a copy and a delete (S3 has no rename): it reads and removes the source and writes the target.
    this.requireAccess('RENAME', from, 'read');
    this.requireAccess('RENAME', from, 'delete');
    this.requireAccess('RENAME', to, 'write');
    const store = this.ctx.store;
    if (!(await store.head(from.key))) {
      if (await this.isDirectory(from.key))
        throw fail(STATUS_CODE.OP_UNSUPPORTED, 'Renaming directories is not supported');
      throw fail(STATUS_CODE.NO_SUCH_FILE, 'No such file');
    }
    // SFTP v3 RENAME (what OpenSSH and WinSCP send) refuses an existing target, and so does Transfer Family.
    if ((await store.head(to.key)) || (await this.isDirectory(to.key))) throw fail(STATUS_CODE.FAILURE, 'File exists');
    const tempPath = join(this.ctx.stagingDir, randomUUID());
    try {
      await store.copy(from.key, to.key, tempPath);
    } finally {
      await rm(tempPath, { force: true });
    }
    await store.delete(from.key);
    this.log('rename', { from: from.path, to: to.path, key: to.key });
    this.ok(id);
  }

  /** The session is over: uploads still open were cut off, and are stored as partial. */
  finish(how: 'end' | 'close' | 'server_stop'): void {
    if (this.finished) return;
    this.finished = true;
    this.ctx.sessions.delete(this);
    for (const [n, handle] of this.handles) {
      this.handles.delete(n);
      if (handle.type === 'write') this.commit(handle, 'abandoned').catch(() => undefined);
    }
    this.log('sftp_end', { how });
  }
}
