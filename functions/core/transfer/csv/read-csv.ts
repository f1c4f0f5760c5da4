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
 * - A record longer than MAX_RECORD_BYTES (almost always a quote that is never closed) -> `malformed_csv`, which
 *   bounds memory on a broken file.
 * - Errors from `source` itself (network, S3) are rethrown unchanged: they are not the customer's problem.
 */
import { CsvError, type Parser, parse } from 'csv-parse';
import { FileProblem, type Problem } from '../../problems.ts';
import { decodeStream } from './decode.ts';
import type { CsvReadOptions, CsvRow, OpenedCsv } from './types.ts';

/** Longest record accepted, in bytes of UTF-8; a longer one is reported as malformed (unclosed quote). */
export const MAX_RECORD_BYTES = 1_000_000;

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
        header = record.map((cell) => cell.trim());
        headerRow = recordCount;
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
        if (values.length === columns.length) return { done: false, value: { rowNumber, values } };
        const problem: Problem = {
          code: 'wrong_cell_count',
          message: `${fileName} row ${rowNumber}: expected ${columns.length} cells, found ${values.length}`,
          file: fileName,
          row: rowNumber,
          rule: `one cell per header column (${columns.length})`,
        };
        return { done: false, value: { rowNumber, values, problem } };
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

function checkHeader(header: string[], row: number, fileName: string): void {
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
    repeats.push(`"${name}" at column ${position(index)} repeats "${original}" at column ${position(earlier)}`);
  });
  if (first !== undefined) {
    throw new FileProblem({
      code: 'duplicate_column',
      message: `${fileName} row ${row}: ${repeats.join('; ')}. Column names must be unique (case and surrounding spaces are ignored).`,
      file: fileName,
      row,
      column: first.name,
      value: first.original,
      rule: 'unique column names, ignoring case and surrounding spaces',
    });
  }
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
