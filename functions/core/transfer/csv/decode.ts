/**
 * Bytes -> text for CSV files, streamed: the encoding is detected from the first bytes, then every chunk is decoded as
 * it arrives. Memory stays bounded by the sniff window plus one chunk, whatever the file size.
 *
 * Detection:
 * - UTF-8 BOM (EF BB BF) -> `utf-8-bom`; UTF-16LE BOM (FF FE) -> `utf-16le`; UTF-16BE BOM (FE FF) -> `utf-16be`.
 *   The BOM is stripped, so it can never leak into the first header cell.
 * - Otherwise UTF-8 if the bytes are valid UTF-8, Windows-1252 (what Excel's plain "CSV" writes) if they are not.
 *   Up to SNIFF_BYTES are read before the first text is returned so that `encoding` is usually known up front.
 *   The decision is only final once a non-ASCII character has been seen: while everything so far is ASCII (identical
 *   in both encodings), a first non-ASCII byte that is not valid UTF-8 decides by the evidence of the next SNIFF_BYTES
 *   from it (read ahead however late it comes): Windows-1252 unless they hold at least as many valid multi-byte UTF-8
 *   sequences as invalid ones (Windows-1252 text almost never forms valid UTF-8 sequences: `é` is E9 alone).
 * - A file that is UTF-8 but for some bytes (valid multi-byte UTF-8 decoded before them, a UTF-8 BOM, or the
 *   evidence above) stays UTF-8: never a silent switch of the whole file's encoding, which would turn every `René`
 *   into `RenÃ©`. Each invalid sequence becomes U+FFFD in the text and its byte offset is queued
 *   (`takeReplacement`), so the reader can make the row holding it a row error naming the offset; the rows around it
 *   are read as they are.
 * - Never silently replaced: the five bytes Windows-1252 leaves undefined (81 8D 8F 90 9D), invalid UTF-16, a NUL
 *   byte (UTF-16 without BOM, or a binary file) and a ZIP/.xlsx signature are `invalid_encoding` for the whole file.
 */
import { TextDecoder } from 'node:util';
import iconv from 'iconv-lite';
import { FileProblem } from '../../problems.ts';
import type { DetectedEncoding } from './types.ts';

/** Bytes read ahead (at least) to detect the encoding before the first text is handed out. */
export const SNIFF_BYTES = 64 * 1024;

export interface DecodedStream {
  /**
   * The detected encoding. Known up front unless the whole sniff window is ASCII: then it reads `utf-8` until a later
   * byte proves the file is Windows-1252, so read it again after `text` has been consumed for the final answer.
   */
  readonly encoding: DetectedEncoding;
  /** The decoded text in chunks (BOM removed). Single use. Fails with a FileProblem `invalid_encoding`. */
  readonly text: AsyncIterable<string>;
  /**
   * One entry per U+FFFD in the text handed out so far, in text order, taken once each: the invalid bytes it replaced,
   * or null for a U+FFFD the file itself holds (valid UTF-8 EF BF BD). Undefined when none is waiting.
   */
  takeReplacement(): Replacement | null | undefined;
  /** U+FFFD entries waiting to be taken (0 on almost every file: the reader then skips looking for them). */
  readonly waitingReplacements: number;
}

/** Bytes of a UTF-8 file that are not UTF-8, replaced by U+FFFD in the text. */
export interface Replacement {
  /** File offset of the first invalid byte (the BOM counts). */
  offset: number;
  byte: number;
}

const SUPPORTED = 'UTF-8, UTF-8 with BOM, UTF-16 with BOM or Windows-1252';
const SAVE_AS = 'Save the file from Excel as "CSV UTF-8 (Comma delimited)" and send it again.';
const NON_ASCII = /[\u0080-\uffff]/;

/**
 * Detects the encoding of `source` and returns its text as a stream of strings.
 * Rejects with a FileProblem (`invalid_encoding`) when the first bytes already show the file cannot be decoded;
 * later problems surface while iterating `text`. Breaking out of `text` early closes `source`.
 */
export async function decodeStream(source: AsyncIterable<Uint8Array>, fileName: string): Promise<DecodedStream> {
  const iterator = source[Symbol.asyncIterator]();
  let sourceDone = false;
  const pull = async (): Promise<Uint8Array | undefined> => {
    for (;;) {
      let next: IteratorResult<Uint8Array>;
      try {
        next = await iterator.next();
      } catch (error) {
        sourceDone = true; // a failed source is finished: its error goes to the reader unchanged
        throw error;
      }
      if (next.done) {
        sourceDone = true;
        return undefined;
      }
      if (next.value.length > 0) return next.value;
    }
  };
  /** Stops a source that has not finished (reader gone or decoding failed); its own error must not mask ours. */
  const close = async () => {
    if (sourceDone) return;
    sourceDone = true;
    try {
      await iterator.return?.();
    } catch {
      // already stopping
    }
  };

  /**
   * `bytes` and what follows them, until SNIFF_BYTES follow their first non-ASCII byte (or the file ends): the evidence a
   * first byte that is not UTF-8 is judged by, however late in the file it comes and however small the chunks are.
   */
  const withEvidence = async (bytes: Uint8Array): Promise<Uint8Array> => {
    const at = firstNonAscii(bytes);
    if (at === -1) return bytes;
    const parts = [bytes];
    for (let after = bytes.length - at; after < SNIFF_BYTES; ) {
      const chunk = await pull();
      if (chunk === undefined) break;
      parts.push(chunk);
      after += chunk.length;
    }
    return concat(parts);
  };

  const texts: string[] = [];
  let decoder: ChunkDecoder;
  try {
    const head: Uint8Array[] = [];
    let headBytes = 0;
    while (headBytes < SNIFF_BYTES) {
      const chunk = await pull();
      if (chunk === undefined) break;
      head.push(chunk);
      headBytes += chunk.length;
    }
    let first = concat(head);
    const { encoding, bomLength } = detectBom(first);
    if (encoding === 'utf-8') first = await withEvidence(first);
    if (encoding === 'utf-8' && startsWith(first, [0x50, 0x4b, 0x03, 0x04])) {
      throw new FileProblem({
        code: 'invalid_encoding',
        message: `${fileName} is a ZIP archive or an Excel workbook (.xlsx), not a CSV file. ${SAVE_AS}`,
        file: fileName,
        rule: `a CSV text file in ${SUPPORTED}`,
      });
    }
    decoder = new ChunkDecoder(encoding, fileName, bomLength);
    texts.push(decoder.write(first.subarray(bomLength)));
    // A multi-byte character cut at the end of the sniff window: read on until it is decided.
    while (!sourceDone && decoder.awaitingContinuation()) {
      const chunk = await pull();
      if (chunk !== undefined) texts.push(decoder.write(chunk));
    }
    if (sourceDone) texts.push(decoder.end());
  } catch (error) {
    await close();
    throw error;
  }

  async function* text(): AsyncGenerator<string> {
    try {
      for (const t of texts.splice(0)) if (t.length > 0) yield t;
      if (sourceDone) return;
      for (;;) {
        const chunk = await pull();
        if (chunk === undefined) break;
        const t = decoder.write(decoder.undecided() ? await withEvidence(chunk) : chunk);
        if (t.length > 0) yield t;
      }
      const t = decoder.end();
      if (t.length > 0) yield t;
    } finally {
      await close();
    }
  }

  return {
    get encoding() {
      return decoder.encoding;
    },
    text: text(),
    takeReplacement: () => decoder.takeReplacement(),
    get waitingReplacements() {
      return decoder.waitingReplacements();
    },
  };
}

function detectBom(bytes: Uint8Array): { encoding: DetectedEncoding; bomLength: number } {
  if (startsWith(bytes, [0xef, 0xbb, 0xbf])) return { encoding: 'utf-8-bom', bomLength: 3 };
  if (startsWith(bytes, [0xff, 0xfe])) return { encoding: 'utf-16le', bomLength: 2 };
  if (startsWith(bytes, [0xfe, 0xff])) return { encoding: 'utf-16be', bomLength: 2 };
  return { encoding: 'utf-8', bomLength: 0 };
}

/**
 * Decodes one file chunk by chunk, tracking the byte offset and line count so a failure can say where it happened.
 * Throws FileProblem `invalid_encoding`.
 */
class ChunkDecoder {
  encoding: DetectedEncoding;
  private readonly fileName: string;
  /** File offset of the next byte to be written (the BOM counts). */
  private offset: number;
  /** UTF-8 without BOM: a non-ASCII character has been decoded, so there is no falling back to Windows-1252. */
  private committed: boolean;
  /** The last (up to 3) bytes given to the UTF-8 decoder: where a pending, incomplete character lives. */
  private recent = new Uint8Array(0);
  private lineFeeds = 0;
  private carriageReturns = 0;
  private utf8: TextDecoder | undefined;
  private utf16: TextDecoder | undefined;
  private cp1252: iconv.DecoderStream | undefined;
  /** UTF-8 with some invalid bytes: decoded by scanUtf8, replacing them; `carry` holds a character cut at a chunk end. */
  private lenient = false;
  private carry = new Uint8Array(0);
  /** See DecodedStream.takeReplacement; `taken` entries at the front are done. */
  private replacements: (Replacement | null)[] = [];
  private taken = 0;

  constructor(encoding: DetectedEncoding, fileName: string, offset: number) {
    this.encoding = encoding;
    this.fileName = fileName;
    this.offset = offset;
    this.committed = encoding !== 'utf-8';
    if (encoding === 'utf-8' || encoding === 'utf-8-bom') this.utf8 = new TextDecoder('utf-8', { fatal: true });
    if (encoding === 'utf-16le' || encoding === 'utf-16be') {
      this.utf16 = new TextDecoder(encoding, { fatal: true, ignoreBOM: true });
    }
  }

  /** True while everything so far was ASCII: the next non-ASCII byte decides between UTF-8 and Windows-1252. */
  undecided(): boolean {
    return this.encoding === 'utf-8' && !this.committed;
  }

  /** True while a UTF-8 character cut at the end of the input so far still decides between UTF-8 and Windows-1252. */
  awaitingContinuation(): boolean {
    return this.encoding === 'utf-8' && !this.committed && pendingUtf8Bytes(this.recent) > 0;
  }

  takeReplacement(): Replacement | null | undefined {
    if (this.taken >= this.replacements.length) return undefined;
    const next = this.replacements[this.taken++];
    if (this.taken > 1024 && this.taken * 2 > this.replacements.length) {
      this.replacements = this.replacements.slice(this.taken);
      this.taken = 0;
    }
    return next;
  }

  waitingReplacements(): number {
    return this.replacements.length - this.taken;
  }

  write(chunk: Uint8Array): string {
    if (this.lenient) return this.writeLenient(chunk, false);
    if (this.cp1252 !== undefined) return this.writeCp1252(chunk, this.offset);
    if (this.utf16 !== undefined) return this.writeUtf16(chunk);
    return this.writeUtf8(chunk);
  }

  end(): string {
    if (this.lenient) return this.writeLenient(new Uint8Array(0), true);
    if (this.cp1252 !== undefined) return this.counted(this.cp1252.end() ?? '');
    if (this.utf16 !== undefined) {
      try {
        return this.counted(this.utf16.decode());
      } catch {
        throw this.failure(this.offset - 1, undefined, 'the file ends in the middle of a UTF-16 character', 0);
      }
    }
    const utf8 = this.utf8!;
    try {
      return this.genuine(this.counted(utf8.decode()));
    } catch {
      const pending = pendingUtf8Bytes(this.recent);
      const carry = this.recent.subarray(this.recent.length - pending);
      if (!this.committed)
        return this.switchToCp1252(carry, this.offset - pending) + this.counted(this.cp1252!.end() ?? '');
      // A UTF-8 file cut in the middle of its last character: that character is the invalid part.
      this.switchToLenient(this.offset - pending);
      return this.writeLenient(carry, true);
    }
  }

  private writeUtf8(chunk: Uint8Array): string {
    this.rejectNul(chunk, this.offset);
    let text: string;
    try {
      text = this.utf8!.decode(chunk, { stream: true });
    } catch {
      return this.onInvalidUtf8(chunk);
    }
    if (!this.committed && NON_ASCII.test(text)) this.committed = true;
    this.remember(chunk);
    this.offset += chunk.length;
    return this.genuine(this.counted(text));
  }

  /** Queues a null entry for each U+FFFD the file itself holds, so entries stay in step with the text. */
  private genuine(text: string): string {
    for (let at = text.indexOf('\uFFFD'); at !== -1; at = text.indexOf('\uFFFD', at + 1)) this.replacements.push(null);
    return text;
  }

  /**
   * The UTF-8 decoder refused `chunk`. Decided UTF-8 already (valid multi-byte text decoded, or a UTF-8 BOM): stay UTF-8,
   * replacing the invalid bytes. Only ASCII so far: Windows-1252, unless these bytes show more UTF-8 than not.
   */
  private onInvalidUtf8(chunk: Uint8Array): string {
    const pending = pendingUtf8Bytes(this.recent);
    const bytes = concat([this.recent.subarray(this.recent.length - pending), chunk]);
    const start = this.offset - pending;
    if (!this.committed) {
      const evidence = scanUtf8(bytes, 0, true);
      if (evidence.multiByte === 0 || evidence.multiByte < evidence.invalid.length) {
        return this.switchToCp1252(bytes, start);
      }
    }
    this.switchToLenient(start);
    return this.writeLenient(bytes, false);
  }

  private switchToLenient(start: number): void {
    this.lenient = true;
    this.committed = true;
    this.utf8 = undefined;
    this.carry = new Uint8Array(0);
    this.offset = start;
  }

  /** UTF-8 with replacement: each invalid sequence becomes U+FFFD and its offset is queued, in text order. */
  private writeLenient(chunk: Uint8Array, final: boolean): string {
    this.rejectNul(chunk, this.offset);
    const bytes = this.carry.length > 0 ? concat([this.carry, chunk]) : chunk;
    const start = this.offset - this.carry.length;
    const scanned = scanUtf8(bytes, start, final);
    let text = '';
    let from = 0;
    const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
    for (const bad of scanned.invalid) {
      text += this.genuine(decoder.decode(bytes.subarray(from, bad.offset - start)));
      text += '\uFFFD';
      this.replacements.push(bad);
      from = bad.offset - start + bad.length;
    }
    text += this.genuine(decoder.decode(bytes.subarray(from, scanned.complete)));
    this.carry = bytes.slice(scanned.complete);
    this.offset = start + bytes.length;
    return this.counted(text);
  }

  /** Everything decoded so far was ASCII, which Windows-1252 reads identically: continue as Windows-1252. */
  private switchToCp1252(bytes: Uint8Array, start: number): string {
    this.encoding = 'windows-1252';
    this.committed = true;
    this.utf8 = undefined;
    this.cp1252 = iconv.getDecoder('windows-1252');
    this.offset = start;
    return this.writeCp1252(bytes, start);
  }

  private writeCp1252(bytes: Uint8Array, start: number): string {
    this.rejectNul(bytes, start);
    const text = this.cp1252!.write(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    // Single-byte encoding: character i is byte i. iconv-lite turns the undefined bytes into U+FFFD.
    const undefinedAt = text.indexOf('\uFFFD');
    if (undefinedAt !== -1) {
      throw this.failure(
        start + undefinedAt,
        bytes[undefinedAt],
        'it is not valid UTF-8 and has no meaning in Windows-1252 either',
        lineBreaks(text.slice(0, undefinedAt)),
      );
    }
    this.offset = start + bytes.length;
    return this.counted(text);
  }

  private writeUtf16(chunk: Uint8Array): string {
    let text: string;
    try {
      text = this.utf16!.decode(chunk, { stream: true });
    } catch {
      throw this.failure(
        this.offset,
        undefined,
        `the file starts with a ${this.encoding.toUpperCase()} byte order mark but these bytes are not valid ${this.encoding.toUpperCase()}`,
        0,
        true,
      );
    }
    this.offset += chunk.length;
    return this.counted(text);
  }

  private rejectNul(bytes: Uint8Array, start: number): void {
    const at = bytes.indexOf(0);
    if (at === -1) return;
    const text = new TextDecoder('utf-8').decode(bytes.subarray(0, at));
    throw this.failure(
      start + at,
      0,
      'a NUL byte never appears in a text CSV (is this UTF-16 without a byte order mark, or a binary file?)',
      lineBreaks(text),
    );
  }

  private remember(chunk: Uint8Array): void {
    this.recent = chunk.length >= 3 ? chunk.slice(-3) : concat([this.recent, chunk]).slice(-3);
  }

  private counted(text: string): string {
    this.lineFeeds += count(text, '\n');
    this.carriageReturns += count(text, '\r');
    return text;
  }

  private failure(
    offset: number,
    byte: number | undefined,
    reason: string,
    extraLines: number,
    approximate = false,
  ): FileProblem {
    const line = 1 + Math.max(this.lineFeeds, this.carriageReturns) + extraLines;
    const value = byte === undefined ? undefined : `0x${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    const where = `${approximate ? 'near ' : ''}byte offset ${offset.toLocaleString('en-US')} (line ${line.toLocaleString('en-US')})`;
    const what = value === undefined ? 'the bytes' : `the byte ${value}`;
    return new FileProblem({
      code: 'invalid_encoding',
      message: `${this.fileName}: ${what} at ${where} cannot be read: ${reason}. ${SAVE_AS}`,
      file: this.fileName,
      ...(value === undefined ? {} : { value }),
      rule: `text in ${SUPPORTED}`,
    });
  }
}

/** How many bytes at the end of `tail` (the last 1-3 bytes of valid UTF-8 input) start a character not yet complete. */
function pendingUtf8Bytes(tail: Uint8Array): number {
  for (let i = 1; i <= Math.min(3, tail.length); i++) {
    const byte = tail[tail.length - i]!;
    if ((byte & 0xc0) === 0x80) continue; // continuation byte: keep looking for the lead byte
    const length = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return length > i ? i : 0;
  }
  return 0;
}

/**
 * Finds the invalid sequences of `bytes` (file offset `start`) as the WHATWG UTF-8 decoder replaces them: one U+FFFD
 * per maximal invalid subpart; a byte that breaks a sequence starts the next one. Also counts the valid multi-byte
 * characters (the evidence for UTF-8). Unless `final`, a character cut at the end is left out of `complete`.
 */
function scanUtf8(
  bytes: Uint8Array,
  start: number,
  final: boolean,
): { invalid: (Replacement & { length: number })[]; multiByte: number; complete: number } {
  const invalid: (Replacement & { length: number })[] = [];
  let multiByte = 0;
  let i = 0;
  const n = bytes.length;
  while (i < n) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    let need = 0;
    let lower = 0x80;
    let upper = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b === 0xe0) lower = 0xa0;
      if (b === 0xed) upper = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b === 0xf0) lower = 0x90;
      if (b === 0xf4) upper = 0x8f;
    }
    if (need === 0) {
      invalid.push({ offset: start + i, byte: b, length: 1 });
      i++;
      continue;
    }
    let k = 1;
    for (; k <= need && i + k < n; k++) {
      const c = bytes[i + k]!;
      if (c < (k === 1 ? lower : 0x80) || c > (k === 1 ? upper : 0xbf)) break;
    }
    if (k > need) {
      multiByte++;
      i += need + 1;
    } else if (i + k >= n) {
      // Cut at the end of the bytes: the rest of the character may come with the next chunk.
      if (!final) return { invalid, multiByte, complete: i };
      invalid.push({ offset: start + i, byte: b, length: n - i });
      i = n;
    } else {
      invalid.push({ offset: start + i, byte: b, length: k });
      i += k;
    }
  }
  return { invalid, multiByte, complete: n };
}

/** Line breaks in `text`: LF, CRLF and CR files alike (a mix is approximate, for messages only). */
function lineBreaks(text: string): number {
  return Math.max(count(text, '\n'), count(text, '\r'));
}

function count(text: string, char: string): number {
  let n = 0;
  for (let at = text.indexOf(char); at !== -1; at = text.indexOf(char, at + 1)) n++;
  return n;
}

function firstNonAscii(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; i++) if (bytes[i]! >= 0x80) return i;
  return -1;
}

function startsWith(bytes: Uint8Array, prefix: number[]): boolean {
  return bytes.length >= prefix.length && prefix.every((byte, i) => bytes[i] === byte);
}

function concat(chunks: Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const total = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}
