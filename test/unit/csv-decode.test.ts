import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeStream, SNIFF_BYTES } from '../../functions/core/transfer/csv/decode.ts';
import { chunked, problemOf } from '../support/csv-sources.ts';

async function decodeAll(bytes: Uint8Array, size?: number) {
  const decoded = await decodeStream(chunked(bytes, size), 'people.csv');
  const before = decoded.encoding;
  let text = '';
  for await (const part of decoded.text) text += part;
  return { before, encoding: decoded.encoding, text };
}

const bytes = (...parts: (string | number[])[]) =>
  Buffer.concat(parts.map((part) => (typeof part === 'string' ? Buffer.from(part, 'utf8') : Buffer.from(part))));

const SAMPLE = 'Employee ID,Name,City\r\n1,José Müller,Zürich\r\n2,Zoë 𝄞 Ñandú,São Paulo\r\n';

describe('decodeStream', () => {
  it('reads plain UTF-8', async () => {
    const result = await decodeAll(bytes(SAMPLE));
    assert.equal(result.encoding, 'utf-8');
    assert.equal(result.before, 'utf-8');
    assert.equal(result.text, SAMPLE);
  });

  it('reads UTF-8 with a BOM and strips it', async () => {
    const result = await decodeAll(bytes([0xef, 0xbb, 0xbf], SAMPLE));
    assert.equal(result.encoding, 'utf-8-bom');
    assert.equal(result.text, SAMPLE);
    assert.ok(!result.text.startsWith('\uFEFF'));
  });

  it('detects the UTF-8 BOM even when it arrives one byte at a time', async () => {
    const result = await decodeAll(bytes([0xef, 0xbb, 0xbf], SAMPLE), 1);
    assert.equal(result.encoding, 'utf-8-bom');
    assert.equal(result.text, SAMPLE);
  });

  it('reads UTF-16LE with a BOM, in chunks of any size', async () => {
    const file = Buffer.from(`\uFEFF${SAMPLE}`, 'utf16le');
    assert.deepEqual([...file.subarray(0, 2)], [0xff, 0xfe]);
    for (const size of [1, 3, 7, 1024]) {
      const result = await decodeAll(file, size);
      assert.equal(result.encoding, 'utf-16le');
      assert.equal(result.text, SAMPLE);
    }
  });

  it('reads UTF-16BE with a BOM, in chunks of any size', async () => {
    const file = Buffer.from(`\uFEFF${SAMPLE}`, 'utf16le').swap16();
    assert.deepEqual([...file.subarray(0, 2)], [0xfe, 0xff]);
    for (const size of [1, 5, 1024]) {
      const result = await decodeAll(file, size);
      assert.equal(result.encoding, 'utf-16be');
      assert.equal(result.text, SAMPLE);
    }
  });

  it('reads Windows-1252 (Excel plain CSV): 0xE9 is é, 0x80 is €', async () => {
    const file = bytes('Name,Amount\r\nRen', [0xe9], ' Dupont,', [0x80], '12\r\n', [0x93], 'q', [0x94], '\r\n');
    const result = await decodeAll(file);
    assert.equal(result.encoding, 'windows-1252');
    assert.equal(result.before, 'windows-1252');
    assert.equal(result.text, 'Name,Amount\r\nRené Dupont,€12\r\n“q”\r\n');
  });

  it('falls back to Windows-1252 when the first non-ASCII byte comes after the sniff window', async () => {
    const ascii = 'Name,City\n' + 'Smith,Boston\n'.repeat(Math.ceil((SNIFF_BYTES * 2) / 13));
    const file = bytes(ascii, 'Ren', [0xe9], ',Montr', [0xe9], 'al\n');
    const result = await decodeAll(file);
    assert.equal(result.before, 'utf-8', 'an all-ASCII head is provisionally UTF-8');
    assert.equal(result.encoding, 'windows-1252', 'final answer after reading');
    assert.equal(result.text, `${ascii}René,Montréal\n`);
  });

  it('decides correctly when a character is cut exactly at the sniff boundary', async () => {
    const pad = 'x'.repeat(SNIFF_BYTES - 1);
    const utf8 = await decodeAll(bytes(pad, 'é and more'), SNIFF_BYTES);
    assert.equal(utf8.before, 'utf-8');
    assert.equal(utf8.text, `${pad}é and more`);
    const cp1252 = await decodeAll(bytes(pad, [0xe9], ' and more'), SNIFF_BYTES);
    assert.equal(cp1252.before, 'windows-1252', 'decided before the first text is returned');
    assert.equal(cp1252.text, `${pad}é and more`);
  });

  it('reassembles UTF-8 characters split across 1-byte chunks', async () => {
    const result = await decodeAll(bytes(SAMPLE), 1);
    assert.equal(result.encoding, 'utf-8');
    assert.equal(result.text, SAMPLE);
  });

  it('reads a Windows-1252 file whose last byte is accented', async () => {
    const result = await decodeAll(bytes('Name\nRen', [0xe9]));
    assert.equal(result.encoding, 'windows-1252');
    assert.equal(result.text, 'Name\nRené');
  });

  it('returns nothing for an empty source', async () => {
    const result = await decodeAll(new Uint8Array(0));
    assert.equal(result.encoding, 'utf-8');
    assert.equal(result.text, '');
  });

  /** Decodes and takes every queued replacement after the text (the reader takes them row by row). */
  async function decodeWithReplacements(file: Uint8Array, size?: number) {
    const decoded = await decodeStream(chunked(file, size), 'people.csv');
    let text = '';
    for await (const part of decoded.text) text += part;
    const replacements = [];
    for (let r = decoded.takeReplacement(); r !== undefined; r = decoded.takeReplacement()) replacements.push(r);
    return { encoding: decoded.encoding, text, replacements };
  }

  it('stays UTF-8 when UTF-8 text turns invalid after the sniff window: U+FFFD, and the offset is queued', async () => {
    const headLine = 'Name,City\nJosé,Zürich\n';
    const filler = 'Smith,Boston\n'.repeat(Math.ceil(SNIFF_BYTES / 13) + 100);
    const file = bytes(headLine, filler, 'Ren', [0xe9], ',Paris\nRené,Nîmes\n');
    const badOffset = Buffer.byteLength(headLine + filler + 'Ren');
    const result = await decodeWithReplacements(file);
    assert.equal(result.encoding, 'utf-8');
    assert.equal(result.text, `${headLine}${filler}Ren\uFFFD,Paris\nRené,Nîmes\n`);
    assert.deepEqual(result.replacements, [{ offset: badOffset, byte: 0xe9, length: 1 }]);
  });

  it('a UTF-8 file with an invalid byte before its first valid multi-byte character is still UTF-8 (the evidence decides)', async () => {
    // The reproduction: Windows-1252 was chosen for the whole file and every René became RenÃ©.
    const file = bytes('Name,City\nRen', [0xe9], ',Paris\n', 'René,Nîmes\n'.repeat(5));
    for (const size of [undefined, 1, 7]) {
      const result = await decodeWithReplacements(file, size);
      assert.equal(result.encoding, 'utf-8');
      assert.equal(result.text, `Name,City\nRen\uFFFD,Paris\n${'René,Nîmes\n'.repeat(5)}`);
      assert.deepEqual(
        result.replacements.map((r) => r?.offset),
        [13],
      );
    }
  });

  it('the evidence is read ahead from the first non-ASCII byte, however late it comes and however small the chunks', async () => {
    // 70 KB of ASCII, one stray E9, 20 KB more ASCII, then UTF-8 names: judged on the 64 KB after the stray byte.
    const ascii = 'Smith,Boston\n'.repeat(5_400);
    const file = bytes(ascii, 'Ren', [0xe9], '\n', 'Jones,Austin\n'.repeat(1_600), 'René,Nîmes\n'.repeat(50));
    for (const size of [1024, 16 * 1024]) {
      const result = await decodeWithReplacements(file, size);
      assert.equal(result.encoding, 'utf-8');
      assert.ok(result.text.endsWith('René,Nîmes\n'));
      assert.deepEqual(
        result.replacements.map((r) => r?.offset),
        [Buffer.byteLength(`${ascii}Ren`)],
      );
    }
  });

  it('a real Windows-1252 file stays Windows-1252 even with one byte pair that happens to be valid UTF-8', async () => {
    // C3 A9 reads as "Ã©" in Windows-1252 (and é in UTF-8): one such pair against many lone accented bytes.
    const file = bytes(
      'Name\nRen',
      [0xe9],
      '\nJos',
      [0xe9],
      '\nZo',
      [0xeb],
      '\nM',
      [0xfc],
      'ller\nX',
      [0xc3, 0xa9],
      '\n',
    );
    const result = await decodeWithReplacements(file);
    assert.equal(result.encoding, 'windows-1252');
    assert.equal(result.text, 'Name\nRené\nJosé\nZoë\nMüller\nXÃ©\n');
    assert.deepEqual(result.replacements, []);
  });

  it('stays UTF-8 on a mix of UTF-8 and Windows-1252 inside the sniff window', async () => {
    const result = await decodeWithReplacements(bytes('Name\nJosé\nRen', [0xe9], '\n'));
    assert.equal(result.encoding, 'utf-8');
    assert.equal(result.text, 'Name\nJosé\nRen\uFFFD\n');
    assert.deepEqual(result.replacements, [{ offset: 14, byte: 0xe9, length: 1 }]);
  });

  it('stays UTF-8 on invalid bytes in a file with a UTF-8 BOM (offsets count the BOM)', async () => {
    const result = await decodeWithReplacements(bytes([0xef, 0xbb, 0xbf], 'Name\nRen', [0xe9], '\n'));
    assert.equal(result.encoding, 'utf-8-bom');
    assert.equal(result.text, 'Name\nRen\uFFFD\n');
    assert.deepEqual(result.replacements, [{ offset: 11, byte: 0xe9, length: 1 }]);
  });

  it('replaces a UTF-8 character cut at the very end of the file', async () => {
    const result = await decodeWithReplacements(bytes('Name\nJosé\nM', [0xc3]));
    assert.equal(result.text, 'Name\nJosé\nM\uFFFD');
    assert.deepEqual(result.replacements, [{ offset: 12, byte: 0xc3, length: 1 }]);
  });

  it('replaces invalid sequences as the WHATWG decoder does, and queues a U+FFFD the file holds as null', async () => {
    // After a BOM (UTF-8 for certain): E2 82 (a cut three-byte sequence) then A, a lone continuation 80, overlong C0 AF,
    // a surrogate ED A0 80; then a U+FFFD the file holds.
    const file = bytes(
      [0xef, 0xbb, 0xbf],
      'é',
      [0xe2, 0x82],
      'A',
      [0x80],
      'B',
      [0xc0, 0xaf],
      'C',
      [0xed, 0xa0, 0x80],
      '\uFFFD\n',
    );
    for (const size of [undefined, 1, 2]) {
      const result = await decodeWithReplacements(file, size);
      assert.equal(result.text, new TextDecoder().decode(file));
      assert.deepEqual(
        result.replacements.map((r) => r?.offset ?? null),
        [5, 8, 10, 11, 13, 14, 15, null],
      );
    }
  });

  it('fails on the bytes Windows-1252 leaves undefined', async () => {
    const problem = await problemOf(decodeAll(bytes('Name\nRen', [0xe9], '\nA', [0x81], 'B\n')));
    assert.equal(problem.code, 'invalid_encoding');
    assert.equal(problem.value, '0x81');
    assert.match(problem.message, /byte offset 11 \(line 3\)/);
  });

  it('fails on NUL bytes: UTF-16 without a BOM is not silently read as UTF-8', async () => {
    const problem = await problemOf(decodeAll(Buffer.from('Name\r\nJosé\r\n', 'utf16le')));
    assert.equal(problem.code, 'invalid_encoding');
    assert.equal(problem.value, '0x00');
    assert.match(problem.message, /NUL/);
  });

  it('recognises an Excel workbook sent instead of a CSV', async () => {
    const problem = await problemOf(decodeAll(bytes([0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x06, 0x00])));
    assert.equal(problem.code, 'invalid_encoding');
    assert.match(problem.message, /\.xlsx/);
  });

  it('fails on invalid UTF-16 (odd number of bytes)', async () => {
    const file = Buffer.concat([Buffer.from('\uFEFFName\n', 'utf16le'), Buffer.from([0x41])]);
    const problem = await problemOf(decodeAll(file));
    assert.equal(problem.code, 'invalid_encoding');
    assert.match(problem.message, /UTF-16/);
  });

  it('fails on a lone UTF-16 surrogate', async () => {
    const file = Buffer.from([0xff, 0xfe, 0x41, 0x00, 0x00, 0xd8, 0x41, 0x00]);
    const problem = await problemOf(decodeAll(file));
    assert.equal(problem.code, 'invalid_encoding');
  });

  it('closes the source when the reader stops early, and reads no more than it needs', async () => {
    let pulled = 0;
    let closed = false;
    async function* source() {
      try {
        for (let i = 0; i < 1000; i++) {
          pulled++;
          yield Buffer.from('x'.repeat(1024) + '\n');
        }
      } finally {
        closed = true;
      }
    }
    const decoded = await decodeStream(source(), 'big.csv');
    for await (const _ of decoded.text) break;
    assert.ok(closed);
    assert.ok(pulled <= Math.ceil(SNIFF_BYTES / 1025) + 1, `pulled ${pulled} chunks`);
  });
});
