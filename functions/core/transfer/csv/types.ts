/** The contract between the CSV reader (decode + parse) and the import engine that consumes its rows. */
export interface CsvReadOptions {
  /** The file's name as the customer sees it, for messages. */
  fileName: string;
  /** The job's delimiter; defaults to a comma. */
  delimiter?: string;
}

export type DetectedEncoding = 'utf-8' | 'utf-8-bom' | 'utf-16le' | 'utf-16be' | 'windows-1252';

export interface CsvRow {
  /** Spreadsheet row number: the header is row 1, the first record is row 2 (an embedded newline does not count). */
  rowNumber: number;
  /** Raw cell values in header order. A row with a different cell count is reported through `problem`. */
  values: string[];
  /** Set when the row cannot be used as it is (e.g. wrong number of cells). */
  problem?: import('../../problems.ts').Problem;
}

export interface OpenedCsv {
  encoding: DetectedEncoding;
  /** Header cells with surrounding spaces trimmed, in file order. */
  header: string[];
  /** Records in order, streamed: memory stays constant whatever the file size. */
  rows: AsyncIterable<CsvRow>;
}
