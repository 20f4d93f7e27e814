/**
 * The stream every upload passes through on its way to storage: it counts and hashes the bytes, and
 * enforces the caller's expected size and SHA-256. Both drivers use it, so "what was stored" and "what
 * the caller was told" come from the same bytes, and a mismatch fails the stream itself — before the
 * fs driver renames its temp file and before the s3 driver completes its multipart upload, which
 * means a bad body is never visible under its key.
 */
import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { BadRequest } from '../domain/errors.js';

const SHA256_HEX = /^[0-9a-f]{64}$/;

export interface Expectations {
  expectedSha256?: string | undefined;
  expectedSize?: number | undefined;
}

/** Validates the caller's expectations up front, so a malformed one fails before any byte moves. */
export function checkExpectations(opts: Expectations): Expectations {
  const sha = opts.expectedSha256?.toLowerCase();
  if (sha !== undefined && !SHA256_HEX.test(sha)) {
    throw new BadRequest('expected sha256 must be 64 hex characters');
  }
  const size = opts.expectedSize;
  if (size !== undefined && !(Number.isSafeInteger(size) && size >= 0)) {
    throw new BadRequest('expected size must be a non-negative integer');
  }
  return { expectedSha256: sha, expectedSize: size };
}

export class DigestStream extends Transform {
  private readonly hash = createHash('sha256');
  private bytes = 0;
  private digest: string | undefined;
  /** The mismatch this stream failed with, kept so a driver can report it over a secondary error. */
  failure: BadRequest | undefined;

  constructor(private readonly expect: Expectations) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    // Fail as soon as the body is too long, rather than store (or send to S3) bytes we will refuse.
    if (this.expect.expectedSize !== undefined && this.bytes > this.expect.expectedSize) {
      done(this.fail(`body is longer than the expected ${this.expect.expectedSize} bytes`));
      return;
    }
    this.hash.update(chunk);
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    this.digest = this.hash.digest('hex');
    if (this.expect.expectedSize !== undefined && this.bytes !== this.expect.expectedSize) {
      done(this.fail(`body is ${this.bytes} bytes, expected ${this.expect.expectedSize}`));
      return;
    }
    if (this.expect.expectedSha256 !== undefined && this.digest !== this.expect.expectedSha256) {
      done(this.fail('body sha256 does not match the expected sha256'));
      return;
    }
    done();
  }

  /** Size and hash of the whole body; only valid once the stream has ended without error. */
  result(): { size: number; sha256: string } {
    if (this.digest === undefined) throw new Error('DigestStream.result() before the stream ended');
    return { size: this.bytes, sha256: this.digest };
  }

  private fail(message: string): BadRequest {
    this.failure = new BadRequest(message, { reason: 'integrity_mismatch' });
    return this.failure;
  }
}

/**
 * Turns "the upload stream died" into one domain error. A client that disconnects mid-upload is not a
 * server fault, so it must not surface as a 500; integrity failures keep their own message.
 */
export function uploadFailure(err: unknown, digest: DigestStream, signal?: AbortSignal): unknown {
  if (digest.failure) return digest.failure;
  if (signal?.aborted) return new BadRequest('upload aborted', { reason: 'aborted' });
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ECONNRESET' || code === 'ABORT_ERR') {
    return new BadRequest('upload stream ended before it was complete', { reason: 'interrupted' });
  }
  return err;
}
