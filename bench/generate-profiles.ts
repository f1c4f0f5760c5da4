/**
 * Generates foreign-national profile files (the fn_profile_import template) for benchmarks: deterministic, about
 * 150 bytes a row, written as a stream so a million rows never sit in memory. `changedEvery` alters one row in N
 * (the email's local part), to model a daily full snapshot in which a few records changed.
 */

import { once } from 'node:events';
import { createWriteStream } from 'node:fs';

export const PROFILE_HEADER =
  'Employee ID,First Name,Last Name,Nick Name,Email,Department,Job Title,Hire Date,Work Location,Manager Email,Country of Citizenship,Status';

const FIRST = ['Priya', 'José', 'Wei', 'Amara', 'Lucas', 'Olga', 'Kenji', 'Fatima', 'Liam', 'Sofia', 'Mateo', 'Aisha'];
const LAST = ['Raman', 'Müller', 'Chen', 'Okafor', 'Silva', 'Ivanova', 'Tanaka', 'Haddad', "O'Brien", 'Rossi'];
const DEPT = ['Engineering', 'Finance', 'Research', 'Legal', 'Sales', 'Operations', 'People'];
const TITLE = ['Software Engineer', 'Financial Analyst', '"Scientist, Level II"', 'Counsel', 'Account Executive'];
const CITY = ['"San Francisco, CA"', 'New York', 'Boston', 'Chicago', 'Austin', 'Toronto', 'London'];
const COUNTRY = ['IN', 'DE', 'CN', 'NG', 'BR', 'RU', 'JP', 'LB', 'IE', 'IT'];

export function profileRow(i: number, variant = 0): string {
  const first = FIRST[i % FIRST.length];
  const last = LAST[(i * 7) % LAST.length];
  const day = String((i % 28) + 1).padStart(2, '0');
  const month = String((i % 12) + 1).padStart(2, '0');
  const email = `${first
    ?.toLowerCase()
    .normalize('NFD')
    .replace(/[^a-z]/g, '')}.${i}${variant ? `.v${variant}` : ''}@example.com`;
  return [
    `E${String(i).padStart(8, '0')}`,
    first,
    last,
    i % 3 === 0 ? 'Sam' : '',
    email,
    DEPT[i % DEPT.length],
    TITLE[i % TITLE.length],
    `20${String(10 + (i % 15)).padStart(2, '0')}-${month}-${day}`,
    CITY[i % CITY.length],
    `manager.${i % 500}@example.com`,
    COUNTRY[i % COUNTRY.length],
    'Active',
  ].join(',');
}

export async function writeProfileFile(
  path: string,
  rows: number,
  options: { changedEvery?: number; variant?: number } = {},
): Promise<number> {
  const out = createWriteStream(path);
  let bytes = 0;
  const write = async (line: string) => {
    bytes += Buffer.byteLength(line) + 2;
    if (!out.write(`${line}\r\n`)) await once(out, 'drain');
  };
  await write(PROFILE_HEADER);
  for (let i = 1; i <= rows; i++) {
    const changed = options.changedEvery && i % options.changedEvery === 0;
    await write(profileRow(i, changed ? (options.variant ?? 1) : 0));
  }
  out.end();
  await once(out, 'finish');
  return bytes;
}
