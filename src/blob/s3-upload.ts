/**
 * Streaming upload to S3 with a sha256 computed on the way, in bounded memory.
 *
 * The body goes through a DigestStream, and we read ahead at most one part:
 *   - if the body ends within one part (the common case for task outputs), its sha256 is known before
 *     anything is sent, so one PutObject stores it with `x-amz-meta-sha256`, and a mismatch with the
 *     expected hash sends nothing at all;
 *   - otherwise lib-storage's `Upload` takes over with multipart (no 5 GB single-PUT ceiling). S3 only
 *     accepts metadata when the multipart upload is created, before the hash is known, so the object
 *     carries `x-amz-meta-sha256` only when the caller gave `expectedSha256`. That value is then
 *     verified, not trusted: the DigestStream fails at the end of the body, and lib-storage hands over
 *     the last part — and so sends CompleteMultipartUpload — only after the body has ended cleanly. A
 *     mismatch therefore aborts the multipart upload and the object never appears.
 *
 * Memory per upload: the read-ahead part plus lib-storage's queue (queueSize parts in flight), whatever
 * the object's size.
 */
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DigestStream, uploadFailure, type Expectations } from './digest.js';

/** Default part size: big enough that 10,000 parts reach ~78 GiB, small enough to keep memory flat. */
export const DEFAULT_PART_SIZE = 8 * 1024 * 1024;
/** S3 allows at most this many parts, which bounds an object of unknown size to partSize × this. */
const MAX_PARTS = 10_000;

export interface S3UploadRequest {
  client: S3Client;
  bucket: string;
  key: string;
  body: Readable;
  expect: Expectations;
  contentType?: string | undefined;
  signal?: AbortSignal | undefined;
  partSize: number;
  queueSize: number;
}

export async function uploadToS3(req: S3UploadRequest): Promise<{ size: number; sha256: string }> {
  const digest = new DigestStream(req.expect);
  let sourceError: unknown;
  // Errors travel to `digest` (pipeline destroys it), where the reads below see them.
  pipeline(req.body, digest, { signal: req.signal }).catch((err: unknown) => {
    sourceError = err;
  });
  // A known size lets a huge object use bigger parts instead of running out of the 10,000 allowed.
  const partSize = Math.max(req.partSize, Math.ceil((req.expect.expectedSize ?? 0) / MAX_PARTS));
  const abort = new AbortController();
  const onAbort = (): void => abort.abort();
  req.signal?.addEventListener('abort', onAbort, { once: true });
  let feed: Readable | undefined;
  try {
    const chunks = digest[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    const head: Buffer[] = [];
    let headBytes = 0;
    let ended = false;
    while (headBytes <= partSize) {
      const next = await chunks.next();
      if (next.done) {
        ended = true;
        break;
      }
      head.push(next.value);
      headBytes += next.value.length;
    }
    const base = { Bucket: req.bucket, Key: req.key, ContentType: req.contentType };
    if (ended) {
      const result = digest.result();
      await req.client.send(
        new PutObjectCommand({ ...base, Body: Buffer.concat(head), ContentLength: result.size, Metadata: { sha256: result.sha256 } }),
        { abortSignal: abort.signal },
      );
      return result;
    }
    feed = Readable.from(replay(head, chunks));
    // Its errors are the body's or digest's, and reach us through upload.done(); a listener keeps a
    // late one (after lib-storage stopped reading) from becoming an uncaught exception.
    feed.on('error', () => {});
    const upload = new Upload({
      client: req.client,
      params: {
        ...base,
        Body: feed,
        Metadata: req.expect.expectedSha256 !== undefined ? { sha256: req.expect.expectedSha256 } : undefined,
      },
      partSize,
      queueSize: req.queueSize,
      leavePartsOnError: false,
      abortController: abort,
    });
    await upload.done();
    return digest.result();
  } catch (err) {
    feed?.destroy();
    digest.destroy();
    req.body.destroy();
    // Report the first cause: a failed abort or a torn-down socket is a consequence, not the reason.
    throw uploadFailure(sourceError ?? err, digest, req.signal);
  } finally {
    req.signal?.removeEventListener('abort', onAbort);
  }
}

/** The read-ahead chunks, then the rest of the body; each chunk is dropped once yielded. */
async function* replay(head: Buffer[], rest: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  for (let chunk = head.shift(); chunk !== undefined; chunk = head.shift()) yield chunk;
  for (;;) {
    const next = await rest.next();
    if (next.done) return;
    yield next.value;
  }
}
