/**
 * Writing CSV (exports, outcome files). Pure: cells in, text out; the caller streams the text wherever it goes.
 *
 * - Fields are quoted as RFC 4180 says: a field holding the delimiter, a double quote, CR or LF is enclosed in double
 *   quotes and its double quotes doubled. A field with white space at either end is quoted too, so a reader that
 *   trims unquoted fields keeps it. Every other field is written as it is.
 * - Cells a spreadsheet would execute are neutralized by the shared rule (formula-guard.ts, OWASP CSV Injection)
 *   unless the options turn it off (`neutralizeFormulas: false`, for machine consumers).
 * - UTF-8, with a byte order mark first when `bom` is set (Excel then reads the file as UTF-8, not as the PC's code
 *   page); lines end with CRLF (RFC 4180, Excel) or LF; the last line ends like every other.
 */
import { neutralizeFormula } from './formula-guard.ts';

export type LineEnding = 'crlf' | 'lf';

export interface CsvWriteOptions {
  /** One character: `,` (default), `;`, tab or `|`. */
  delimiter: string;
  /** Start the file with a UTF-8 byte order mark (Excel's "CSV UTF-8"). */
  bom: boolean;
  lineEnding: LineEnding;
  /** Apply the formula-injection rule (default true); off only for machine consumers. */
  neutralizeFormulas: boolean;
}

/** What Excel opens correctly and a person may open safely. */
export const SPREADSHEET_CSV: Readonly<CsvWriteOptions> = {
  delimiter: ',',
  bom: true,
  lineEnding: 'crlf',
  neutralizeFormulas: true,
};

export const DELIMITERS: readonly string[] = [',', ';', '\t', '|'];
export const LINE_ENDINGS: readonly LineEnding[] = ['crlf', 'lf'];

/** What is wrong with CSV options, each naming the option (empty when they can be used). Robust to any JSON. */
export function csvWriteProblems(options: unknown, where = 'csv'): string[] {
  if (options === undefined) return [];
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    return [`${where} must be an object: { delimiter, bom, lineEnding, neutralizeFormulas }`];
  }
  const o = options as Record<string, unknown>;
  const problems: string[] = [];
  if (o.delimiter !== undefined && !DELIMITERS.includes(o.delimiter as string)) {
    problems.push(`${where}.delimiter must be one of comma, semicolon, tab or | (got ${JSON.stringify(o.delimiter)})`);
  }
  if (o.bom !== undefined && typeof o.bom !== 'boolean') problems.push(`${where}.bom must be true or false`);
  if (o.lineEnding !== undefined && !LINE_ENDINGS.includes(o.lineEnding as LineEnding)) {
    problems.push(`${where}.lineEnding must be crlf or lf`);
  }
  if (o.neutralizeFormulas !== undefined && typeof o.neutralizeFormulas !== 'boolean') {
    problems.push(`${where}.neutralizeFormulas must be true or false`);
  }
  for (const key of Object.keys(o)) {
    if (!['delimiter', 'bom', 'lineEnding', 'neutralizeFormulas'].includes(key)) {
      problems.push(`${where}.${key} is not an option (delimiter, bom, lineEnding, neutralizeFormulas)`);
    }
  }
  return problems;
}

/** Options with every default filled in. */
export function csvWriteOptions(partial: Partial<CsvWriteOptions> = {}): CsvWriteOptions {
  return { ...SPREADSHEET_CSV, ...partial };
}

export interface CsvLineWriter {
  /** One field, quoted and neutralized as the options say. */
  cell(value: string): string;
  /** One record with its line end. */
  line(cells: readonly string[]): string;
  /** What the file starts with: the BOM, or nothing. */
  readonly start: string;
}

export function csvLineWriter(options: CsvWriteOptions): CsvLineWriter {
  const { delimiter } = options;
  const eol = options.lineEnding === 'crlf' ? '\r\n' : '\n';
  const needsQuotes = new RegExp(`["\\r\\n${escapeForClass(delimiter)}]|^\\s|\\s$`);
  const guard = options.neutralizeFormulas ? neutralizeFormula : (v: string) => v;
  const cell = (value: string): string => {
    const text = guard(value);
    return needsQuotes.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  return {
    cell,
    line(cells) {
      let out = '';
      for (let i = 0; i < cells.length; i++) out += (i > 0 ? delimiter : '') + cell(cells[i] ?? '');
      return out + eol;
    },
    start: options.bom ? '\uFEFF' : '',
  };
}

function escapeForClass(char: string): string {
  return char.replace(/[\\\]^-]/g, '\\$&');
}

/**
 * A whole file as text chunks of about `chunkChars` characters (many lines per chunk: far fewer, larger writes
 * downstream), from a header and rows that arrive one at a time; holds one chunk, never the file.
 */
export async function* writeCsv(
  header: readonly string[],
  rows: AsyncIterable<readonly string[]> | Iterable<readonly string[]>,
  options: CsvWriteOptions,
  chunkChars = 64 * 1024,
): AsyncIterable<string> {
  const writer = csvLineWriter(options);
  let chunk = writer.start + writer.line(header);
  for await (const row of rows) {
    chunk += writer.line(row);
    if (chunk.length >= chunkChars) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk.length > 0) yield chunk;
}
