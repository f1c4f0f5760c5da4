import { ApiError } from './errors.ts';

export const DEFAULT_PAGE = 25;
export const MAX_PAGE = 100;

/** `?limit=`: 1 to MAX_PAGE (larger asks get MAX_PAGE); absent -> DEFAULT_PAGE; anything else is a 400. */
export function pageSize(raw: string | undefined): number {
  if (raw === undefined || raw === '') return DEFAULT_PAGE;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new ApiError(400, 'invalid_limit', 'limit must be a whole number from 1');
  return Math.min(n, MAX_PAGE);
}
