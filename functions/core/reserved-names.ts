/**
 * Names a plain JavaScript object already answers to: `{}.constructor` is a function, `{}.__proto__` is
 * Object.prototype, and assigning `__proto__` replaces an object's prototype instead of adding a key. A field id or a
 * value-map key spelled so would read or write those instead of the customer's data wherever values are kept in a
 * plain object (a mapped row, a stored item unmarshalled by the SDK), so such names are refused where a job declares
 * them (jobs.ts), and lookups by a name from outside use `ownValue`, which sees only what was put there.
 */
const OBJECT_NAMES: ReadonlySet<string> = new Set([...Object.getOwnPropertyNames(Object.prototype), 'prototype']);

/** `__proto__`, `constructor`, `prototype`, `toString`, `hasOwnProperty`, ... (exact spelling). */
export function isReservedName(name: string): boolean {
  return OBJECT_NAMES.has(name);
}

/** The value stored under `key` itself, never one inherited from Object.prototype. */
export function ownValue<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}
