/**
 * Where an export file goes: the organization's outbound area (layout.ts), named `<template>_YYYYMMDD.csv` with the
 * date of the run's start in the job's time zone; a second run on one day writes `<template>_YYYYMMDD_2.csv`, a third
 * `_3`, and so on, so nothing the customer has not fetched yet is overwritten.
 *
 * The name is the first one not taken (a HEAD per candidate); the write itself is conditional (`ifAbsent`, S3's
 * If-None-Match: *), so two exports racing for one name can never overwrite each other: the loser's write is refused.
 */
import { areaPrefix } from './layout.ts';

/** The calendar date of `at` in `timeZone`, as YYYYMMDD. */
export function dayIn(at: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' })
    .formatToParts(at)
    .reduce<Record<string, string>>((acc, p) => {
      acc[p.type] = p.value;
      return acc;
    }, {});
  return `${parts.year}${parts.month}${parts.day}`;
}

export function exportFileName(templateId: string, day: string, attempt: number): string {
  return attempt <= 1 ? `${templateId}_${day}.csv` : `${templateId}_${day}_${attempt}.csv`;
}

export const MAX_FILES_PER_DAY = 1000;

/** The first free name of the day in the organization's outbound area: its key and the name the customer sees. */
export async function freeExportKey(
  exists: (key: string) => Promise<boolean>,
  org: string,
  templateId: string,
  day: string,
  from = 1,
): Promise<{ key: string; name: string; attempt: number }> {
  for (let attempt = from; attempt <= MAX_FILES_PER_DAY; attempt++) {
    const name = exportFileName(templateId, day, attempt);
    const key = `${areaPrefix('outbound', org)}${name}`;
    if (!(await exists(key))) return { key, name, attempt };
  }
  throw new Error(`${MAX_FILES_PER_DAY} export files of ${templateId} on ${day} already: the customer fetches none`);
}
