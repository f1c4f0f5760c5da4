/** Shared by the CSV reader's tests: byte sources in chunks of any size, and the FileProblem a call must throw. */
import assert from 'node:assert/strict';
import { FileProblem, type Problem } from '../../functions/core/problems.ts';

/** The bytes as a stream of `size`-byte chunks, as an S3 body or a file stream hands them over. */
export async function* chunked(bytes: Uint8Array, size = 16 * 1024): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

export async function problemOf(promise: Promise<unknown>): Promise<Problem> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof FileProblem, `expected a FileProblem, got ${error}`);
    return error.problem;
  }
  assert.fail('expected a FileProblem');
}
