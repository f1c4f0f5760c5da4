/**
 * Errors are values: a code a program can act on, a message a person can act on, and the place it happened.
 * Handlers turn them into a run status or an HTTP status in one place; nothing else inspects message text.
 */
export interface Problem {
  /** Stable, machine-readable, e.g. `missing_required_column`, `invalid_date`. */
  code: string;
  /** For the customer: names the file, row, column, value and the rule broken. */
  message: string;
  file?: string;
  /** Spreadsheet row number: the header is row 1, the first record row 2. */
  row?: number;
  column?: string;
  /** Our field id at fault (job definitions: the mapping entry or option that names it). */
  field?: string;
  /** The offending value as the customer sent it, masked for sensitive fields. */
  value?: string;
  /** The rule broken, in words: `required`, `format date (YYYY-MM-DD)`, `one of A, I`. */
  rule?: string;
}

/** A problem that stops a whole file (nothing is written): the run is Interrupted. */
export class FileProblem extends Error {
  readonly problem: Problem;
  constructor(problem: Problem) {
    super(problem.message);
    this.name = 'FileProblem';
    this.problem = problem;
  }
}

/**
 * The store refused a write that no retry can make acceptable (DynamoDB's ValidationException, such as an item over
 * 400 KB). Adapters turn such SDK errors into this value (adapters/store-refusals.ts), so the core can end the run
 * (code `store_refused`) instead of the message being retried for hours as if the failure were transient.
 */
export class StoreRefusal extends Error {
  readonly problem: Problem;
  constructor(problem: Problem) {
    super(problem.message);
    this.name = 'StoreRefusal';
    this.problem = problem;
  }
}
