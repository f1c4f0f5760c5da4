/**
 * An external merge sort of fixed-size records: the SortScratch port on local disk (Lambda's /tmp, the twin's temp
 * directory). Records are held in memory up to a budget; past it each full buffer is sorted and written as a run file,
 * and reading merges the runs (one block per run in memory). A sort that stays within the budget never touches disk.
 *
 * Written here rather than taken from npm: the packages that exist sort JSON lines or JS values one object each, and
 * this sort sees a record per CSV row (millions), where fixed binary records and typed arrays keep memory to the
 * budget and the garbage collector out of the way.
 */
import { type FileHandle, mkdtemp, open, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RecordSort, SortScratch } from '../core/ports.ts';

export interface DiskSortOptions {
  /** Directory under which a sort that spills makes its own folder; default os.tmpdir() (/tmp in Lambda). */
  dir?: string;
  /** Memory for records (and their sort order) before a run is written to disk. Default 8 MiB. */
  memoryBytes?: number;
  /** Bytes read or written per run file at a time. Default 64 KiB. */
  blockBytes?: number;
  /** Counts for tests and benchmarks. */
  stats?: DiskSortStats;
}

export interface DiskSortStats {
  /** Run files written. */
  runsWritten: number;
  /** Bytes written to run files. */
  bytesSpilled: number;
}

const DEFAULT_MEMORY = 8 * 1024 * 1024;
const DEFAULT_BLOCK = 64 * 1024;
/** First buffer of a sort: most sorts (a file without duplicate keys has no notes to sort) stay this small. */
const INITIAL_RECORDS = 1024;
/** Per record beside its bytes: its index and its first four bytes as a number (Uint32Array each). */
const ORDER_BYTES = 8;

export function diskSortScratch(options: DiskSortOptions = {}): SortScratch {
  return { start: (recordSize) => new DiskSort(recordSize, options) };
}

class DiskSort implements RecordSort {
  private readonly size: number;
  private readonly capacity: number;
  private buffer: Buffer;
  private count = 0;
  private readonly runs: string[] = [];
  private dir: string | undefined;
  private read = false;

  constructor(
    recordSize: number,
    private readonly options: DiskSortOptions,
  ) {
    if (!Number.isInteger(recordSize) || recordSize < 1) throw new Error(`record size must be a positive integer`);
    this.size = recordSize;
    this.capacity = Math.max(1, Math.floor((options.memoryBytes ?? DEFAULT_MEMORY) / (recordSize + ORDER_BYTES)));
    this.buffer = Buffer.allocUnsafe(Math.min(this.capacity, INITIAL_RECORDS) * recordSize);
  }

  add(record: Uint8Array): Promise<void> | undefined {
    if (this.read) throw new Error('records cannot be added to a sort that is being read');
    if (record.length !== this.size) throw new Error(`record of ${record.length} bytes in a sort of ${this.size}`);
    if (this.count * this.size < this.buffer.length) {
      this.buffer.set(record, this.count++ * this.size);
      return undefined;
    }
    if (this.count < this.capacity) {
      const grown = Buffer.allocUnsafe(Math.min(this.capacity, this.count * 2) * this.size);
      this.buffer.copy(grown, 0, 0, this.count * this.size);
      this.buffer = grown;
      this.buffer.set(record, this.count++ * this.size);
      return undefined;
    }
    return this.spill().then(() => {
      this.buffer.set(record, this.count++ * this.size);
    });
  }

  async *sorted(): AsyncGenerator<Uint8Array> {
    if (this.read) throw new Error('a sort can be read once');
    this.read = true;
    try {
      if (this.runs.length === 0) {
        const size = this.size;
        for (const i of this.order()) yield this.buffer.subarray(i * size, i * size + size);
        return;
      }
      if (this.count > 0) await this.spill();
      this.buffer = Buffer.alloc(0);
      yield* mergeRuns(this.runs, this.size, this.options.blockBytes ?? DEFAULT_BLOCK);
    } finally {
      await this.discard();
    }
  }

  async discard(): Promise<void> {
    this.count = 0;
    this.buffer = Buffer.alloc(0);
    const dir = this.dir;
    this.dir = undefined;
    if (dir) await rm(dir, { recursive: true, force: true });
  }

  /** The buffered records' indexes in byte order. */
  private order(): Uint32Array {
    const { count, size, buffer } = this;
    const index = new Uint32Array(count);
    // The first four bytes as a number decide almost every comparison (hashes, row numbers) without leaving JS.
    const head = new Uint32Array(count);
    const headBytes = Math.min(4, size);
    for (let i = 0; i < count; i++) {
      index[i] = i;
      let h = 0;
      for (let b = 0; b < 4; b++) h = h * 256 + (b < headBytes ? buffer[i * size + b]! : 0);
      head[i] = h;
    }
    index.sort(
      (a, b) =>
        head[a]! - head[b]! ||
        buffer.compare(buffer, b * size + headBytes, b * size + size, a * size + headBytes, a * size + size),
    );
    return index;
  }

  /** Writes the buffered records, sorted, as one run file. */
  private async spill(): Promise<void> {
    this.dir ??= await sortFolder(this.options.dir ?? tmpdir());
    const path = join(this.dir, `run-${this.runs.length}`);
    const { size, buffer } = this;
    const blockRecords = Math.max(1, Math.floor((this.options.blockBytes ?? DEFAULT_BLOCK) / size));
    const block = Buffer.allocUnsafe(blockRecords * size);
    const file = await open(path, 'w');
    try {
      let used = 0;
      for (const i of this.order()) {
        buffer.copy(block, used * size, i * size, i * size + size);
        if (++used === blockRecords) {
          await writeAll(file, block, used * size);
          used = 0;
        }
      }
      if (used > 0) await writeAll(file, block, used * size);
    } finally {
      await file.close();
    }
    this.runs.push(path);
    if (this.options.stats) {
      this.options.stats.runsWritten++;
      this.options.stats.bytesSpilled += this.count * size;
    }
    this.count = 0;
  }
}

const FOLDER_PREFIX = 'integrator-sort-';
const sweeps = new Map<string, Promise<void>>();

/**
 * A new folder for one sort's runs, named after this process. Before the first, the folders that earlier processes
 * left behind are removed: a Lambda environment keeps /tmp when a timed-out or crashed invocation's process is
 * replaced, and its runs would fill it. A folder is stale when the process that named it is gone, or when it bears
 * this process's id but was made before this process swept (Lambda reuses process ids in its sandbox).
 */
async function sortFolder(parent: string): Promise<string> {
  let sweep = sweeps.get(parent);
  if (!sweep) {
    sweep = removeStaleFolders(parent);
    sweeps.set(parent, sweep);
  }
  await sweep;
  return mkdtemp(join(parent, `${FOLDER_PREFIX}${process.pid}-`));
}

async function removeStaleFolders(parent: string): Promise<void> {
  const names = await readdir(parent).catch(() => [] as string[]);
  for (const name of names) {
    if (!name.startsWith(FOLDER_PREFIX)) continue;
    const pid = Number(name.slice(FOLDER_PREFIX.length).split('-')[0]);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    if (pid === process.pid || !processExists(pid)) await rm(join(parent, name), { recursive: true, force: true });
  }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function writeAll(file: FileHandle, data: Buffer, length: number): Promise<void> {
  for (let offset = 0; offset < length; ) {
    const { bytesWritten } = await file.write(data, offset, length - offset);
    offset += bytesWritten;
  }
}

/** Reads one run file a block at a time. */
class RunReader {
  private readonly block: Buffer;
  private length = 0;
  private position = 0;
  /** Offset of the current record in `block`; -1 once the run is exhausted. */
  offset = -1;

  constructor(
    private readonly file: FileHandle,
    private readonly size: number,
    blockBytes: number,
  ) {
    this.block = Buffer.allocUnsafe(Math.max(1, Math.floor(blockBytes / size)) * size);
  }

  get buffer(): Buffer {
    return this.block;
  }

  /** Moves to the next record; false at the end of the run. */
  async next(): Promise<boolean> {
    if (this.offset >= 0 && this.offset + this.size < this.length) {
      this.offset += this.size;
      return true;
    }
    this.length = 0;
    while (this.length < this.block.length) {
      const { bytesRead } = await this.file.read(
        this.block,
        this.length,
        this.block.length - this.length,
        this.position,
      );
      if (bytesRead === 0) break;
      this.length += bytesRead;
      this.position += bytesRead;
    }
    if (this.length % this.size !== 0) throw new Error('a sort run file ends inside a record');
    this.offset = this.length > 0 ? 0 : -1;
    return this.length > 0;
  }

  compare(other: RunReader): number {
    return this.block.compare(
      other.block,
      other.offset,
      other.offset + this.size,
      this.offset,
      this.offset + this.size,
    );
  }
}

/** k-way merge of sorted run files through a binary min-heap of their readers. */
async function* mergeRuns(paths: readonly string[], size: number, blockBytes: number): AsyncGenerator<Uint8Array> {
  const files: FileHandle[] = [];
  try {
    const heap: RunReader[] = [];
    for (const path of paths) {
      const file = await open(path, 'r');
      files.push(file);
      const reader = new RunReader(file, size, blockBytes);
      if (await reader.next()) heap.push(reader);
    }
    for (let i = (heap.length >> 1) - 1; i >= 0; i--) siftDown(heap, i);
    while (heap.length > 0) {
      const top = heap[0]!;
      yield top.buffer.subarray(top.offset, top.offset + size);
      if (!(await top.next())) {
        const last = heap.pop()!;
        if (heap.length === 0) break;
        heap[0] = last;
      }
      siftDown(heap, 0);
    }
  } finally {
    await Promise.all(files.map((f) => f.close()));
  }
}

function siftDown(heap: RunReader[], start: number): void {
  let i = start;
  for (;;) {
    const left = 2 * i + 1;
    if (left >= heap.length) return;
    const right = left + 1;
    const smaller = right < heap.length && heap[right]!.compare(heap[left]!) < 0 ? right : left;
    if (heap[smaller]!.compare(heap[i]!) >= 0) return;
    [heap[i], heap[smaller]] = [heap[smaller]!, heap[i]!];
    i = smaller;
  }
}
