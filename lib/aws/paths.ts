import { fileURLToPath } from 'node:url';

/** Absolute path of a file in the repository, so synth works whatever directory `cdk` is started from. */
export function repoPath(relative: string): string {
  return fileURLToPath(new URL(`../../${relative}`, import.meta.url));
}
