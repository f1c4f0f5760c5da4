/**
 * How FileStore.versionOf (ports.ts) recognises the version an upload event means, one definition for every store.
 */
/** ETags compare without their surrounding quotes (S3 quotes them; events and some clients do not). */
export function sameEtag(a: string, b: string): boolean {
  const bare = (etag: string) => etag.trim().replace(/^"(.*)"$/, '$1');
  return bare(a) === bare(b);
}

/** LastModified has 1-second resolution: a version stamped within a second after `notAfter` may still be it. */
export function notAfterSlack(lastModified: Date | undefined, notAfter: Date | undefined): boolean {
  return !notAfter || !lastModified || lastModified.getTime() <= notAfter.getTime() + 1000;
}
