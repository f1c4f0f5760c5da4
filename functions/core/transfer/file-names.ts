/**
 * The file names customers upload: `<template>_YYYYMMDD.csv`, the template id in any letter case
 * (`fn_Custom_Data_import_20260105.csv`), ending with a real calendar date. A name either names a template of the
 * expected direction or is refused with the reason in words.
 */
import type { Direction, Template } from './template-types.ts';

export type FileNameMatch =
  | { ok: true; template: Template /** YYYY-MM-DD */; date: string }
  | { ok: false; reason: 'not_csv' | 'no_template' | 'bad_date'; message: string };

const FILE_NAME = /^(.+)_(\d{4})(\d{2})(\d{2})\.csv$/i;

/** True for a real calendar date (rejects 20260230 and month 13). */
export function isRealDate(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) return false;
  const d = new Date(Date.UTC(year, month - 1, day));
  return d.getUTCFullYear() === year && d.getUTCMonth() === month - 1 && d.getUTCDate() === day;
}

/**
 * The template a file name (or key: only its last part counts) follows among `all`, looked up by lower-case id in
 * `byLowerId`; only templates of `direction` match.
 */
export function matchFileName(
  fileName: string,
  direction: Direction,
  all: readonly Template[],
  byLowerId: ReadonlyMap<string, Template>,
): FileNameMatch {
  const name = fileName.slice(fileName.lastIndexOf('/') + 1);
  if (!/\.csv$/i.test(name)) {
    return { ok: false, reason: 'not_csv', message: `${name} is not a .csv file; only CSV files are imported` };
  }
  const m = FILE_NAME.exec(name);
  const named = m ? byLowerId.get(m[1]!.toLowerCase()) : undefined;
  const template = named?.direction === direction ? named : undefined;
  if (!m || !template) {
    const expected = all
      .filter((t) => t.direction === direction)
      .map((t) => t.fileNamePattern)
      .join(', ');
    const other = named ? `; ${named.id} is an ${named.direction} template` : '';
    return {
      ok: false,
      reason: 'no_template',
      message: `${name} does not follow the name of an ${direction} template (<template>_YYYYMMDD.csv: ${expected})${other}`,
    };
  }
  const [year, month, day] = [Number(m[2]), Number(m[3]), Number(m[4])];
  if (!isRealDate(year, month, day)) {
    return {
      ok: false,
      reason: 'bad_date',
      message: `${name}: ${m[2]}${m[3]}${m[4]} is not a real date (the name must end with the upload date, YYYYMMDD)`,
    };
  }
  return { ok: true, template, date: `${m[2]}-${m[3]}-${m[4]}` };
}
