/**
 * Opens a CSV file for the import engine: decode (see decode.ts), parse with csv-parse, check the header, then stream
 * the records one by one with their spreadsheet row numbers. Memory stays constant: csv-parse is read as an async
 * iterator and written with backpressure, so a slow consumer pauses the source instead of buffering the file.
 *
 * Decisions:
 * - RFC 4180: `"` quotes, `""` inside quotes, delimiters and line breaks inside quoted cells. Line ends may be CRLF,
 *   LF or CR, even mixed within one file. A quote that opens a cell and is never closed is `malformed_csv`.
 * - Stray quotes are kept literally (csv-parse `relax_quotes`): `5'10"` in an unquoted cell reads as `5'10"`, as
 *   Excel reads it and as csv-spectrum requires. The same option also reads text after a closing quote literally
 *   (`"Bo"x` -> `"Bo"x`, where Excel shows `Box`): no character is lost, and csv-parse cannot relax one case only.
 * - Blank rows (every cell empty or only spaces, including a line of bare delimiters) are skipped but still counted,
 *   so `rowNumber` is the row a spreadsheet shows: header row 1, first record row 2, an embedded line break does not
 *   count. Blank rows before the header are skipped the same way (the header is then row 2, 3, ...).
 * - Empty file (0 bytes, only whitespace or only blank rows) -> `empty_file`. A header with no records is NOT an
 *   error here: `rows` is simply empty and the engine reports zero rows (a file with zero records must be reported,
 *   see FIELD-LESSONS).
 * - Header cells are trimmed (which also removes a stray U+FEFF); an empty one -> `empty_column_name`; a repeated one
 *   (ignoring case and surrounding spaces) -> `duplicate_column`.
 * - A row with another cell count than the header is yielded with `problem` (`wrong_cell_count`); the file goes on.
 * - A UTF-8 file with some invalid bytes (decode.ts): a row holding them is yielded with `problem`
 *   (`invalid_encoding`, naming the column and the byte offset); the header holding them stops the file.
 * - Limits, so that no file can make a stored run or row error too large (item-bounds.ts) or a message unreadable:
 *   - a header of at most MAX_COLUMNS columns (`too_many_columns`), names of at most MAX_COLUMN_NAME_CHARS
 *     characters (`column_name_too_long`), MAX_HEADER_BYTES of UTF-8 in all (`header_too_long`): the file stops
 *     (an Interrupted run), the message names the row and the first column past the limit;
 *   - a cell of at most MAX_CELL_BYTES of UTF-8: a longer one makes its row a row error (`cell_too_long`, naming the
 *     row and the column); the file goes on;
 *   - a record (line) of at most MAX_RECORD_BYTES: a longer one (almost always a quote that is never closed) ->
 *     `malformed_csv`, which bounds memory on a broken file. Reading stops there.
 *   One problem per row: invalid bytes, then a wrong cell count, then a cell too long.
 * - Errors from `source` itself (network, S3) are rethrown unchanged: they are not the customer's problem.
 */
import { CsvError, type Parser, parse } from 'csv-parse';
import { FileProblem, type Problem } from '../../problems.ts';
import { cutText, utf8Bytes } from '../item-bounds.ts';
import { type DecodedStream, decodeStream, type Replacement } from './decode.ts';
import type { CsvReadOptions, CsvRow, OpenedCsv } from './types.ts';

/** Longest record accepted (csv-parse's max_record_size, about bytes of UTF-8); longer: malformed (unclosed quote). */
export const MAX_RECORD_BYTES = 1_000_000;
/** Longest cell of a record, in bytes of UTF-8 (no field of a template comes near it). */
export const MAX_CELL_BYTES = 32 * 1024;
/** Most columns a header may have. */
export const MAX_COLUMNS = 1_000;
/** Longest column name, in characters. */
export const MAX_COLUMN_NAME_CHARS = 256;
/** The whole header row, in bytes of UTF-8 of its names (the run stores it). */
export const MAX_HEADER_BYTES = 64 * 1024;
/** Column names quoted in a message are cut to this many bytes; repeated names listed at most this many times. */
const QUOTED_NAME_BYTES = 80;
const LISTED_REPEATS = 10;

/**
 * Decodes and parses `source`, reads and checks the header, and returns the rows as a single-use stream.
 * Rejects with a FileProblem (`invalid_encoding`, `empty_file`, `empty_column_name`, `duplicate_column`,
 * `malformed_csv`) when the file cannot be used at all; iterating `rows` can fail with `invalid_encoding` or
 * `malformed_csv` later in the file. Breaking out of `rows` early closes `source`; a caller that decides not to read
 * the rows at all (e.g. the header does not fit the template) releases it with
 * `await opened.rows[Symbol.asyncIterator]().return?.()`. `encoding` is final once `rows` has been read (see decode.ts).
 */
export async function openCsv(source: AsyncIterable<Uint8Array>, options: CsvReadOptions): Promise<OpenedCsv> {
  const { fileName } = options;
  const decoded = await decodeStream(source, fileName);
  const parser = parse({
    delimiter: options.delimiter ?? ',',
    quote: '"',
    escape: '"',
    record_delimiter: ['\r\n', '\n', '\r'],
    relax_column_count: true,
    relax_quotes: true,
    max_record_size: MAX_RECORD_BYTES,
  });
  // Errors reach the consumer through `take` below; this listener only keeps one from crashing the process.
  parser.on('error', () => {});
  void pump(decoded.text, parser);

  /** Records read so far, blank ones included: the spreadsheet row number of the last one. */
  let recordCount = 0;
  let header: string[] | undefined;
  /** The next record if one is ready (no promise per record: the parser is read synchronously), else null. */
  const take = (): string[] | null => {
    if (parser.errored) throw toFileProblem(parser.errored, fileName, header);
    const record = parser.read() as string[] | null;
    if (record !== null) recordCount++;
    return record;
  };
  const finished = () => parser.readableEnded || parser.destroyed;

  let headerRow = 0;
  try {
    while (header === undefined) {
      const record = take();
      if (record === null) {
        if (finished()) break;
        await activity(parser);
      } else if (!isBlank(record)) {
        headerRow = recordCount;
        const invalid = invalidBytes(decoded, record);
        if (invalid.length > 0) throw new FileProblem(encodingProblem(fileName, headerRow, invalid, undefined));
        header = record.map((cell) => cell.trim());
      }
    }
    if (header === undefined) {
      throw new FileProblem({
        code: 'empty_file',
        message: `${fileName} is empty: it has no header row and no records.`,
        file: fileName,
        rule: 'a header row, then one row per record',
      });
    }
    checkHeader(header, headerRow, fileName);
  } catch (error) {
    parser.destroy();
    throw error;
  }
  const columns = header;

  const nextRow = async (): Promise<IteratorResult<CsvRow, undefined>> => {
    try {
      for (;;) {
        const values = take();
        if (values === null) {
          if (finished()) break;
          await activity(parser);
          continue;
        }
        if (isBlank(values)) continue;
        const rowNumber = recordCount;
        const invalid = invalidBytes(decoded, values);
        if (invalid.length > 0) {
          const problem = encodingProblem(fileName, rowNumber, invalid, columns);
          return { done: false, value: { rowNumber, values, problem } };
        }
        if (values.length !== columns.length) {
          const problem: Problem = {
            code: 'wrong_cell_count',
            message: `${fileName} row ${rowNumber}: expected ${columns.length} cells, found ${values.length}`,
            file: fileName,
            row: rowNumber,
            rule: `one cell per header column (${columns.length})`,
          };
          return { done: false, value: { rowNumber, values, problem } };
        }
        const tooLong = longCell(values);
        if (tooLong !== -1) {
          const column = columnName(columns, tooLong);
          const problem: Problem = {
            code: 'cell_too_long',
            message: `${fileName} row ${rowNumber}, column ${position(tooLong)} "${quoted(column)}": the cell holds ${utf8Bytes(values[tooLong]!).toLocaleString('en-US')} bytes; a cell may hold at most ${MAX_CELL_BYTES.toLocaleString('en-US')}`,
            file: fileName,
            row: rowNumber,
            column,
            rule: `at most ${MAX_CELL_BYTES.toLocaleString('en-US')} bytes of UTF-8 per cell`,
          };
          return { done: false, value: { rowNumber, values, problem } };
        }
        return { done: false, value: { rowNumber, values } };
      }
    } catch (error) {
      parser.destroy();
      throw error;
    }
    parser.destroy();
    return { done: true, value: undefined };
  };
  // A plain iterator rather than an async generator: one promise per row instead of three, which matters at
  // hundreds of thousands of rows. `return` (a `break` in for-await) stops the parser and closes the source.
  const rows: AsyncIterableIterator<CsvRow> = {
    next: nextRow,
    return: async () => {
      parser.destroy();
      return { done: true, value: undefined };
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };

  return {
    get encoding() {
      return decoded.encoding;
    },
    header: columns,
    rows,
  };
}

/** Writes the decoded text into the parser, waiting whenever it is full; stops (closing the source) once it is gone. */
async function pump(text: AsyncIterable<string>, parser: Parser): Promise<void> {
  try {
    for await (const chunk of text) {
      if (parser.destroyed) break;
      if (!parser.write(chunk)) await drainedOrClosed(parser);
      if (parser.destroyed) break;
    }
    if (!parser.destroyed) parser.end();
  } catch (error) {
    parser.destroy(error instanceof Error ? error : new Error(String(error)));
  }
}

function drainedOrClosed(parser: Parser): Promise<void> {
  return once(parser, ['drain', 'close']);
}

/** Resolves when the parser has records to read, has ended, failed or been destroyed. */
function activity(parser: Parser): Promise<void> {
  return once(parser, ['readable', 'end', 'error', 'close']);
}

function once(parser: Parser, events: string[]): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      for (const event of events) parser.off(event, done);
      resolve();
    };
    for (const event of events) parser.on(event, done);
  });
}

/** Every cell empty or only spaces (a blank line parses as one empty cell). */
function isBlank(values: string[]): boolean {
  return values.every((value) => value.trim() === '');
}

/** The index of the first cell longer than MAX_CELL_BYTES, or -1 (most rows are decided by their lengths alone). */
function longCell(values: readonly string[]): number {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v.length * 3 > MAX_CELL_BYTES && utf8Bytes(v) > MAX_CELL_BYTES) return i;
  }
  return -1;
}

/** The header's name for a cell, or its position when the row has more cells than the header. */
function columnName(header: readonly string[], index: number): string {
  return header[index] ?? position(index);
}

function quoted(name: string): string {
  return cutText(name, QUOTED_NAME_BYTES);
}

/** The invalid bytes of a record, with the cell each is in (see DecodedStream.takeReplacement). */
function invalidBytes(decoded: DecodedStream, cells: readonly string[]): { cell: number; at: Replacement }[] {
  if (decoded.waitingReplacements === 0) return [];
  const found: { cell: number; at: Replacement }[] = [];
  cells.forEach((cell, index) => {
    for (let at = cell.indexOf('\uFFFD'); at !== -1; at = cell.indexOf('\uFFFD', at + 1)) {
      const replaced = decoded.takeReplacement();
      if (replaced) found.push({ cell: index, at: replaced });
    }
  });
  return found;
}

function encodingProblem(
  fileName: string,
  row: number,
  invalid: { cell: number; at: Replacement }[],
  header: readonly string[] | undefined,
): Problem {
  const first = invalid[0]!;
  const column = header ? columnName(header, first.cell) : position(first.cell);
  const byte = `0x${first.at.byte.toString(16).toUpperCase().padStart(2, '0')}`;
  const more =
    invalid.length > 1
      ? ` (and ${invalid.length - 1} more invalid byte${invalid.length > 2 ? 's' : ''} in this row)`
      : '';
  const what = header ? 'this row was not imported' : 'the header cannot be read, so nothing was imported';
  return {
    code: 'invalid_encoding',
    message: `${fileName} row ${row}, column ${position(first.cell)}${header ? ` "${quoted(column)}"` : ''}: the byte ${byte} at byte offset ${first.at.offset.toLocaleString('en-US')} is not valid UTF-8, though the file is UTF-8${more}; ${what}. Correct the character (or save the file as "CSV UTF-8") and send the row again.`,
    file: fileName,
    row,
    column,
    value: byte,
    rule: 'text in UTF-8',
  };
}

function checkHeader(header: string[], row: number, fileName: string): void {
  const limit = headerLimit(header);
  if (limit) {
    throw new FileProblem({
      code: limit.code,
      message: `${fileName} row ${row}, column ${position(limit.index)}: ${limit.reason}; nothing was imported.`,
      file: fileName,
      row,
      column: position(limit.index),
      rule: limit.rule,
    });
  }
  const empty = header.indexOf('');
  if (empty !== -1) {
    const trailing = empty === header.length - 1 && header.length > 1 ? ' (the header row ends with a delimiter)' : '';
    throw new FileProblem({
      code: 'empty_column_name',
      message: `${fileName} row ${row}: column ${position(empty)} has no name${trailing}; every header cell must name a column.`,
      file: fileName,
      row,
      column: position(empty),
      rule: 'every header cell names a column',
    });
  }
  const seen = new Map<string, number>();
  const repeats: string[] = [];
  let count = 0;
  let first: { name: string; original: string } | undefined;
  header.forEach((name, index) => {
    const key = name.toLowerCase();
    const earlier = seen.get(key);
    if (earlier === undefined) {
      seen.set(key, index);
      return;
    }
    const original = header[earlier]!;
    first ??= { name, original };
    count++;
    if (repeats.length < LISTED_REPEATS) {
      repeats.push(
        `"${quoted(name)}" at column ${position(index)} repeats "${quoted(original)}" at column ${position(earlier)}`,
      );
    }
  });
  if (first !== undefined) {
    const rest =
      count > repeats.length ? `; and ${(count - repeats.length).toLocaleString('en-US')} more repeated names` : '';
    throw new FileProblem({
      code: 'duplicate_column',
      message: `${fileName} row ${row}: ${repeats.join('; ')}${rest}. Column names must be unique (case and surrounding spaces are ignored).`,
      file: fileName,
      row,
      column: first.name,
      value: first.original,
      rule: 'unique column names, ignoring case and surrounding spaces',
    });
  }
}

/** The first limit of the header's size it breaks (see the module's notes), if any. */
function headerLimit(
  header: readonly string[],
): { code: string; index: number; reason: string; rule: string } | undefined {
  if (header.length > MAX_COLUMNS) {
    return {
      code: 'too_many_columns',
      index: MAX_COLUMNS,
      reason: `the header has ${header.length.toLocaleString('en-US')} columns; a file may have at most ${MAX_COLUMNS.toLocaleString('en-US')}`,
      rule: `at most ${MAX_COLUMNS.toLocaleString('en-US')} columns`,
    };
  }
  let bytes = 0;
  for (let index = 0; index < header.length; index++) {
    const name = header[index]!;
    if (name.length > MAX_COLUMN_NAME_CHARS) {
      return {
        code: 'column_name_too_long',
        index,
        reason: `the column name "${quoted(name)}" has ${name.length.toLocaleString('en-US')} characters; a name may have at most ${MAX_COLUMN_NAME_CHARS}`,
        rule: `column names of at most ${MAX_COLUMN_NAME_CHARS} characters`,
      };
    }
    bytes += utf8Bytes(name);
    if (bytes > MAX_HEADER_BYTES) {
      return {
        code: 'header_too_long',
        index,
        reason: `the header row's names pass ${MAX_HEADER_BYTES.toLocaleString('en-US')} bytes here`,
        rule: `a header row of at most ${MAX_HEADER_BYTES.toLocaleString('en-US')} bytes`,
      };
    }
  }
  return undefined;
}

/** `3 (C)`: a column's position counted from 1, with its spreadsheet letter. */
function position(index: number): string {
  let letters = '';
  for (let n = index + 1; n > 0; n = Math.floor((n - 1) / 26)) {
    letters = String.fromCharCode(65 + ((n - 1) % 26)) + letters;
  }
  return `${index + 1} (${letters})`;
}

/** csv-parse's quoting errors in plain words; other errors (the source failing) pass through unchanged. */
function toFileProblem(error: unknown, fileName: string, header: string[] | undefined): unknown {
  if (error instanceof FileProblem || !(error instanceof CsvError)) return error;
  // csv-parse counts every record it emitted (blank ones too, header first), so the broken one is the next.
  const row = typeof error.records === 'number' ? error.records + 1 : undefined;
  const index = typeof error.column === 'number' ? error.column : undefined;
  // The header is unknown when the error surfaces before it was handed out (csv-parse fails ahead of its reader).
  const name = index === undefined ? undefined : header?.[index];
  const column = index === undefined ? undefined : `column ${position(index)}${name === undefined ? '' : ` "${name}"`}`;
  const at = [row === undefined ? undefined : `row ${row}`, column].filter(Boolean).join(', ');
  let reason: string;
  switch (error.code) {
    case 'CSV_QUOTE_NOT_CLOSED':
      reason = 'a quoted cell opens with " and is never closed before the end of the file';
      break;
    case 'CSV_MAX_RECORD_SIZE':
      reason = `the row is longer than ${MAX_RECORD_BYTES.toLocaleString('en-US')} bytes, almost always because a quoted cell opens with " and is never closed`;
      break;
    default:
      // Not expected with relax_quotes; csv-parse's own words, which name the line.
      reason = `the file is not valid CSV: ${error.message}`;
  }
  const problem: Problem = {
    code: 'malformed_csv',
    message: `${fileName}${at === '' ? '' : ` ${at}`}: ${reason}.`,
    file: fileName,
    rule: 'CSV quoting (RFC 4180)',
  };
  if (row !== undefined) problem.row = row;
  if (index !== undefined) problem.column = name ?? position(index);
  return new FileProblem(problem);
}
