/**
 * Country codes: citizenship, issuing country and every other country field hold an ISO 3166-1 alpha-2 code that is
 * officially assigned. The template's pattern (`^[A-Z]{2}$`) says two capitals; this list says which pairs are
 * countries, so `XX` or `UK` (reserved, not assigned: the code is GB) is a row error, not a stored value.
 * The list is data, kept once in schemas/iso-3166-1-alpha-2.json with its source.
 */
import iso3166 from '../../../schemas/iso-3166-1-alpha-2.json' with { type: 'json' };

const ASSIGNED: ReadonlySet<string> = new Set(iso3166.codes);

export function isAssignedCountryCode(value: string): boolean {
  return ASSIGNED.has(value);
}

/** How many codes are assigned (249 since 2011). */
export const ASSIGNED_COUNTRY_CODES = ASSIGNED.size;
