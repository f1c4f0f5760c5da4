import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FileProblem } from '../../functions/core/problems.ts';
import {
  MAX_CELL_BYTES,
  MAX_COLUMN_NAME_CHARS,
  MAX_COLUMNS,
  openCsv,
} from '../../functions/core/transfer/csv/read-csv.ts';
import type { CsvRow } from '../../functions/core/transfer/csv/types.ts';
import { chunked, problemOf } from '../support/csv-sources.ts';

const FILE = 'fn_profile_import_20261124.csv';

const utf8 = (text: string) => Buffer.from(text, 'utf8');

async function read(input: string | Uint8Array, options: { delimiter?: string; chunk?: number } = {}) {
  const bytes = typeof input === 'string' ? utf8(input) : input;
  const opened = await openCsv(chunked(bytes, options.chunk), {
    fileName: FILE,
    ...(options.delimiter === undefined ? {} : { delimiter: options.delimiter }),
  });
  const rows: CsvRow[] = [];
  for await (const row of opened.rows) rows.push(row);
  return { encoding: opened.encoding, header: opened.header, rows };
}

const values = (rows: CsvRow[]) => rows.map((row) => row.values);
const numbers = (rows: CsvRow[]) => rows.map((row) => row.rowNumber);

describe('openCsv', () => {
  it('reads LF and CRLF files alike, in chunks of any size', async () => {
    for (const eol of ['\n', '\r\n', '\r']) {
      for (const chunk of [1, 2, 3, 1024]) {
        const file = ['id,name', '1,Ana', '2,Bo'].join(eol) + eol;
        const result = await read(file, { chunk });
        assert.deepEqual(result.header, ['id', 'name']);
        assert.deepEqual(values(result.rows), [
          ['1', 'Ana'],
          ['2', 'Bo'],
        ]);
        assert.deepEqual(numbers(result.rows), [2, 3]);
      }
    }
  });

  it('reads a last row without a final line break', async () => {
    const result = await read('id,name\r\n1,Ana\r\n2,Bo');
    assert.deepEqual(values(result.rows), [
      ['1', 'Ana'],
      ['2', 'Bo'],
    ]);
  });

  it('accepts mixed line endings, one record per line', async () => {
    const result = await read('id\r\n1\n2\r\n3\r4\n');
    assert.deepEqual(values(result.rows), [['1'], ['2'], ['3'], ['4']]);
  });

  it('keeps quoted delimiters, doubled quotes and embedded line breaks', async () => {
    const file =
      'id,note,city\r\n1,"Says ""hi"", then leaves",Boston\r\n2,"line one\r\nline two\nline three",Paris\r\n';
    const result = await read(file, { chunk: 3 });
    assert.deepEqual(values(result.rows), [
      ['1', 'Says "hi", then leaves', 'Boston'],
      ['2', 'line one\r\nline two\nline three', 'Paris'],
    ]);
  });

  it('counts records, not physical lines, in row numbers', async () => {
    const file = 'id,note\n1,"two\nlines"\n2,"three\nphysical\nlines"\n3,plain\n';
    const result = await read(file);
    assert.deepEqual(numbers(result.rows), [2, 3, 4]);
    assert.deepEqual(
      result.rows.map((row) => row.values[0]),
      ['1', '2', '3'],
    );
  });

  for (const [name, delimiter] of [
    ['semicolon', ';'],
    ['tab', '\t'],
    ['pipe', '|'],
  ] as const) {
    it(`uses the job's delimiter: ${name}`, async () => {
      const file = [`id${delimiter}name${delimiter}note`, `1${delimiter}Ana${delimiter}"a, b ${delimiter} c"`].join(
        '\n',
      );
      const result = await read(file, { delimiter });
      assert.deepEqual(result.header, ['id', 'name', 'note']);
      assert.deepEqual(values(result.rows), [['1', 'Ana', `a, b ${delimiter} c`]]);
    });
  }

  it('reports a short or long row as a row problem and goes on', async () => {
    const header = Array.from({ length: 12 }, (_, i) => `c${i + 1}`).join(',');
    const full = Array.from({ length: 12 }, (_, i) => `v${i + 1}`).join(',');
    const short = Array.from({ length: 11 }, (_, i) => `v${i + 1}`).join(',');
    const file = [header, full, full, full, full, full, short, `${full},extra`, full].join('\n');
    const result = await read(file);
    assert.deepEqual(numbers(result.rows), [2, 3, 4, 5, 6, 7, 8, 9]);
    const problems = result.rows.filter((row) => row.problem !== undefined);
    assert.equal(problems.length, 2);
    assert.deepEqual(problems[0]!.problem, {
      code: 'wrong_cell_count',
      message: `${FILE} row 7: expected 12 cells, found 11`,
      file: FILE,
      row: 7,
      rule: 'one cell per header column (12)',
    });
    assert.equal(problems[0]!.values.length, 11);
    assert.equal(problems[1]!.problem?.message, `${FILE} row 8: expected 12 cells, found 13`);
    assert.equal(result.rows[7]!.problem, undefined);
  });

  it('skips blank rows but counts them, so row numbers match the spreadsheet', async () => {
    const file = 'id,name\n1,Ana\n\n,\n , \n"",""\n2,Bo\n\n';
    const result = await read(file);
    assert.deepEqual(values(result.rows), [
      ['1', 'Ana'],
      ['2', 'Bo'],
    ]);
    assert.deepEqual(numbers(result.rows), [2, 7]);
  });

  it('keeps a row that has some empty cells', async () => {
    const result = await read('a,b,c\n1,"",""\n,,x\n');
    assert.deepEqual(values(result.rows), [
      ['1', '', ''],
      ['', '', 'x'],
    ]);
  });

  it('trims header cells but not values', async () => {
    const result = await read(' Employee ID ,\tName\n 7 , Ana \n');
    assert.deepEqual(result.header, ['Employee ID', 'Name']);
    assert.deepEqual(values(result.rows), [[' 7 ', ' Ana ']]);
  });

  it('rejects duplicate header names, ignoring case and surrounding spaces', async () => {
    const problem = await problemOf(read('Employee ID,Email,Name, email \n1,a@x.io,Ana,b@x.io\n'));
    assert.equal(problem.code, 'duplicate_column');
    assert.equal(problem.row, 1);
    assert.equal(problem.column, 'email');
    assert.equal(problem.value, 'Email');
    assert.match(problem.message, /^fn_profile_import_20261124\.csv row 1: /);
    assert.match(problem.message, /"email" at column 4 \(D\) repeats "Email" at column 2 \(B\)/);
  });

  it('names every duplicate', async () => {
    const problem = await problemOf(read('a,b,A,B\n'));
    assert.match(problem.message, /"A" at column 3 \(C\) repeats "a" at column 1 \(A\); "B" at column 4 \(D\)/);
  });

  it('rejects an empty header cell with its position', async () => {
    const problem = await problemOf(read('id,,name\n1,2,3\n'));
    assert.equal(problem.code, 'empty_column_name');
    assert.equal(problem.row, 1);
    assert.equal(problem.column, '2 (B)');
    assert.match(problem.message, /column 2 \(B\) has no name/);
    const trailing = await problemOf(read('id,name,\n1,2,\n'));
    assert.match(trailing.message, /column 3 \(C\) has no name \(the header row ends with a delimiter\)/);
  });

  it('rejects an empty file: 0 bytes, whitespace, blank lines or a lone BOM', async () => {
    for (const file of [new Uint8Array(0), utf8('   \r\n\t\n\n'), utf8(',,,\n,,\n'), Buffer.from([0xef, 0xbb, 0xbf])]) {
      const problem = await problemOf(read(file));
      assert.equal(problem.code, 'empty_file');
      assert.equal(problem.file, FILE);
      assert.match(problem.message, /is empty/);
    }
  });

  it('returns a header-only file with zero rows (the engine reports it)', async () => {
    for (const file of ['id,name', 'id,name\r\n', 'id,name\n\n\n']) {
      const result = await read(file);
      assert.deepEqual(result.header, ['id', 'name']);
      assert.deepEqual(result.rows, []);
    }
  });

  it('never lets a BOM leak into the first header cell', async () => {
    const bom = Buffer.from([0xef, 0xbb, 0xbf]);
    for (const file of [
      Buffer.concat([bom, utf8('Employee ID,Name\n1,Ana\n')]),
      Buffer.concat([bom, bom, utf8('Employee ID,Name\n1,Ana\n')]),
      Buffer.from('\uFEFFEmployee ID,Name\n1,Ana\n', 'utf16le'),
      Buffer.from('\uFEFFEmployee ID,Name\n1,Ana\n', 'utf16le').swap16(),
    ]) {
      const result = await read(file, { chunk: 1 });
      assert.equal(result.header[0], 'Employee ID');
      assert.deepEqual(values(result.rows), [['1', 'Ana']]);
    }
  });

  it('reports the detected encoding and decodes Windows-1252', async () => {
    const file = Buffer.concat([
      utf8('Name;Amount\r\nRen'),
      Buffer.from([0xe9]),
      utf8(';'),
      Buffer.from([0x80]),
      utf8('5\r\n'),
    ]);
    const result = await read(file, { delimiter: ';' });
    assert.equal(result.encoding, 'windows-1252');
    assert.deepEqual(values(result.rows), [['René', '€5']]);
  });

  it('reports an unclosed quote as malformed_csv with its row', async () => {
    const problem = await problemOf(read('id,name\n1,Ana\n2,"Bo\n3,Cy\n'));
    assert.equal(problem.code, 'malformed_csv');
    assert.equal(problem.row, 3);
    assert.equal(problem.file, FILE);
    // The whole file is one chunk, so csv-parse fails before the header is handed out: position only, no name.
    assert.match(
      problem.message,
      /^fn_profile_import_20261124\.csv row 3, column 2 \(B\): a quoted cell opens with " and is never/,
    );
  });

  it('keeps stray quotes literally, as Excel and csv-spectrum read them', async () => {
    const result = await read('id,height,note\n1,5\'10",a "b" c\n2,"6\'1""",ok\n3,"Bo"x,ok\n');
    assert.deepEqual(values(result.rows), [
      ['1', '5\'10"', 'a "b" c'],
      ['2', '6\'1"', 'ok'],
      ['3', '"Bo"x', 'ok'],
    ]);
  });

  it('names the column of a quoting error once the header is known', async () => {
    // Past the decoder's 64 KB read-ahead, so the header has been handed out when csv-parse fails.
    const filler = '1,Ana\n'.repeat(20_000);
    const problem = await problemOf(read(`id,name\n${filler}\n2,"Bo\n3,Cy\n`));
    assert.equal(problem.code, 'malformed_csv');
    assert.equal(problem.row, 20_003, 'the blank row 20,002 counts');
    assert.equal(problem.column, 'name');
    assert.match(problem.message, /row 20003, column 2 \(B\) "name": a quoted cell opens with " and is never closed/);
  });

  it('reports a quoting error in the header row as row 1', async () => {
    const problem = await problemOf(read('id,"name\n'));
    assert.equal(problem.code, 'malformed_csv');
    assert.equal(problem.row, 1);
  });

  it('bounds memory on a quote that never closes in a large file', async () => {
    const file = `id,name\n1,"Ana\n${'2,Bo\n'.repeat(300_000)}`;
    const problem = await problemOf(read(file));
    assert.equal(problem.code, 'malformed_csv');
    assert.equal(problem.row, 2);
    assert.match(problem.message, /longer than 1,000,000 bytes/);
  });

  it('a UTF-8 file with a few invalid bytes is read as UTF-8: the rows holding them are row errors naming the offset', async () => {
    const file = Buffer.concat([
      utf8('id,name,city\n1,Ren'),
      Buffer.from([0xe9]),
      utf8(',Paris\n2,René,Nîmes\n3,"Zo\uFFFDë",Bonn\n4,Ana,S'),
      Buffer.from([0xe3, 0x6f]),
      utf8(' Paulo\n'),
    ]);
    for (const chunk of [1, 5, 1024]) {
      const result = await read(file, { chunk });
      assert.equal(result.encoding, 'utf-8');
      assert.deepEqual(values(result.rows), [
        ['1', 'Ren\uFFFD', 'Paris'],
        ['2', 'René', 'Nîmes'],
        ['3', 'Zo\uFFFDë', 'Bonn'],
        ['4', 'Ana', 'S\uFFFDo Paulo'],
      ]);
      const [first, second, third, fourth] = result.rows;
      assert.equal(first!.problem?.code, 'invalid_encoding');
      assert.equal(first!.problem?.row, 2);
      assert.equal(first!.problem?.column, 'name');
      assert.equal(first!.problem?.value, '0xE9');
      assert.match(
        first!.problem!.message,
        /row 2, column 2 \(B\) "name": the byte 0xE9 at byte offset 18 is not valid UTF-8/,
      );
      assert.equal(second!.problem, undefined);
      // A U+FFFD the file itself holds (valid UTF-8) is no error.
      assert.equal(third!.problem, undefined);
      assert.equal(fourth!.problem?.column, 'city');
      assert.match(fourth!.problem!.message, /byte offset 65/);
    }
  });

  it('invalid bytes in the header stop the file', async () => {
    const file = Buffer.concat([utf8('id,Pr'), Buffer.from([0xe9]), utf8('nom\n1,René\n')]);
    const problem = await problemOf(read(file));
    assert.equal(problem.code, 'invalid_encoding');
    assert.equal(problem.row, 1);
    assert.match(problem.message, /byte offset 5/);
  });

  it('a cell past MAX_CELL_BYTES is a row error naming the row and column; the file goes on', async () => {
    const long = '漢'.repeat(Math.ceil(MAX_CELL_BYTES / 3) + 1);
    const result = await read(`id,name\n1,${long}\n2,Bo\n`);
    assert.equal(result.rows[0]!.problem?.code, 'cell_too_long');
    assert.equal(result.rows[0]!.problem?.row, 2);
    assert.equal(result.rows[0]!.problem?.column, 'name');
    assert.match(
      result.rows[0]!.problem!.message,
      /row 2, column 2 \(B\) "name": the cell holds 32,772 bytes; a cell may hold at most 32,768/,
    );
    assert.equal(result.rows[1]!.problem, undefined);
    // At the limit exactly: read as it is.
    const fits = await read(`id,name\n1,${'x'.repeat(MAX_CELL_BYTES)}\n`);
    assert.equal(fits.rows[0]!.problem, undefined);
  });

  it('a header past MAX_COLUMNS, MAX_COLUMN_NAME_CHARS or MAX_HEADER_BYTES stops the file, naming the column', async () => {
    const many = Array.from({ length: 40_000 }, (_, i) => `Column ${i + 1}`).join(',');
    let problem = await problemOf(read(`${many}\n`));
    assert.equal(problem.code, 'too_many_columns');
    assert.equal(problem.row, 1);
    assert.equal(problem.column, `${MAX_COLUMNS + 1} (ALM)`);
    assert.match(problem.message, /the header has 40,000 columns; a file may have at most 1,000/);
    assert.ok(Buffer.byteLength(problem.message) < 300);

    problem = await problemOf(read(`id,${'N'.repeat(MAX_COLUMN_NAME_CHARS + 1)}\n1,2\n`));
    assert.equal(problem.code, 'column_name_too_long');
    assert.equal(problem.column, '2 (B)');
    assert.match(problem.message, /…\[cut: /);

    const wide = Array.from({ length: 400 }, (_, i) => `${i}${'名'.repeat(60)}`).join(',');
    problem = await problemOf(read(`${wide}\n`));
    assert.equal(problem.code, 'header_too_long');
    assert.match(problem.message, /column 3\d\d /);
  });

  it('a header of repeated names lists ten of them and counts the rest', async () => {
    const header = Array.from({ length: 900 }, () => 'Employee ID').join(',');
    const problem = await problemOf(read(`${header}\n`));
    assert.equal(problem.code, 'duplicate_column');
    assert.equal(problem.message.split(' repeats ').length - 1, 10);
    assert.match(problem.message, /; and 889 more repeated names\. Column names must be unique/);
    assert.ok(Buffer.byteLength(problem.message) < 2_048, String(Buffer.byteLength(problem.message)));
  });

  it('rethrows a failing source unchanged (not a customer problem)', async () => {
    const isSourceError = (error: unknown) =>
      error instanceof Error && !(error instanceof FileProblem) && error.message === 'socket hang up';
    async function* failingEarly() {
      yield utf8('id,name\n1,Ana\n');
      throw new Error('socket hang up');
    }
    await assert.rejects(openCsv(failingEarly(), { fileName: FILE }), isSourceError);
    async function* failingLate() {
      yield utf8('id,name\n');
      for (let i = 0; i < 10_000; i++) yield utf8(`${i},name ${i}\n`);
      throw new Error('socket hang up');
    }
    const opened = await openCsv(failingLate(), { fileName: FILE });
    await assert.rejects(
      (async () => {
        for await (const _ of opened.rows);
      })(),
      isSourceError,
    );
  });

  it('closes the source when the consumer stops early, without reading the rest', async () => {
    let pulled = 0;
    let closed = false;
    async function* source() {
      try {
        yield utf8('id,name\n');
        for (let i = 0; i < 100_000; i++) {
          pulled++;
          yield utf8(`${i},name ${i}\n`);
        }
      } finally {
        closed = true;
      }
    }
    const opened = await openCsv(source(), { fileName: FILE });
    for await (const row of opened.rows) {
      if (row.rowNumber === 3) break;
    }
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(closed, 'source closed');
    assert.ok(pulled < 10_000, `pulled ${pulled} chunks`);
  });

  it('closes the source when the caller drops the rows without iterating them', async () => {
    let closed = false;
    async function* source() {
      try {
        yield utf8('id,name\n');
        for (let i = 0; i < 100_000; i++) yield utf8(`${i},x\n`);
      } finally {
        closed = true;
      }
    }
    const opened = await openCsv(source(), { fileName: FILE });
    await opened.rows[Symbol.asyncIterator]().return?.();
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(closed);
  });

  it('closes the source when the header is rejected', async () => {
    let closed = false;
    async function* source() {
      try {
        yield utf8('a,A\n');
        for (let i = 0; i < 100_000; i++) yield utf8('1,2\n');
      } finally {
        closed = true;
      }
    }
    await problemOf(openCsv(source(), { fileName: FILE }));
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(closed);
  });

  it('applies backpressure: a slow consumer does not make the reader run ahead', async () => {
    // 1,000 chunks of 20 rows (~400 bytes each). Read-ahead is bounded by the decoder's 64 KB sniff, the parser's
    // 16 KB input buffer and its 16 parsed records: about 210 chunks, whatever the file size.
    let pulled = 0;
    async function* source() {
      yield utf8('id,name\n');
      for (let chunk = 0; chunk < 1_000; chunk++) {
        pulled++;
        let text = '';
        for (let i = 0; i < 20; i++) text += `${chunk * 20 + i},name ${String(i).padStart(10, '0')}\n`;
        yield utf8(text);
      }
    }
    const opened = await openCsv(source(), { fileName: FILE });
    let seen = 0;
    for await (const _ of opened.rows) {
      seen++;
      if (seen === 10) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        assert.ok(pulled < 300, `reader ran ahead: pulled ${pulled} of 1,000 chunks while 10 rows were consumed`);
      }
    }
    assert.equal(seen, 20_000);
  });

  it('streams 200,000 generated rows', async () => {
    async function* generated() {
      yield utf8('Employee ID,Name,Email,City\r\n');
      const lines: string[] = [];
      for (let i = 1; i <= 200_000; i++) {
        lines.push(`${i},"Müller, José ${i}",user${i}@example.com,Zürich\r\n`);
        if (lines.length === 500) {
          yield utf8(lines.join(''));
          lines.length = 0;
        }
      }
      if (lines.length > 0) yield utf8(lines.join(''));
    }
    const opened = await openCsv(generated(), { fileName: FILE });
    let count = 0;
    let last: CsvRow | undefined;
    for await (const row of opened.rows) {
      count++;
      if (row.problem !== undefined) assert.fail(row.problem.message);
      last = row;
    }
    assert.equal(count, 200_000);
    assert.equal(last?.rowNumber, 200_001);
    assert.deepEqual(last?.values, ['200000', 'Müller, José 200000', 'user200000@example.com', 'Zürich']);
    assert.equal(opened.encoding, 'utf-8');
  });
});
