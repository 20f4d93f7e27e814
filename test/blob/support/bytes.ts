/** Byte helpers for the blob tests: deterministic bodies, digests, and sources that die mid-way. */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { xorshiftBytes } from '../../support/bytes.js';

export const MiB = 1024 * 1024;

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

/** Every byte value, in order, then in reverse: catches any text decoding on the way. */
export function allByteValues(): Buffer {
  const up = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  return Buffer.concat([up, Buffer.from(up).reverse()]);
}

/** Deterministic pseudo-random bytes, so a failure reproduces. */
export function pseudoRandom(size: number, seed = 0x9e3779b9): Buffer {
  return xorshiftBytes(size, seed);
}

/** Streams `data` in uneven chunks, so no driver can rely on chunk boundaries lining up with anything. */
export function chunked(data: Buffer): Readable {
  const sizes = [1, 7, 1000, 65_537, 4096, 333_333];
  let offset = 0;
  let i = 0;
  return new Readable({
    read() {
      if (offset >= data.length) {
        this.push(null);
        return;
      }
      const n = sizes[i++ % sizes.length]!;
      this.push(data.subarray(offset, offset + n));
      offset += n;
    },
  });
}

/**
 * Yields `failAfter` bytes of `data`, then dies the way a dropped client connection does: destroyed
 * with an error (or, with `error: false`, destroyed silently, i.e. a premature close).
 */
export function dying(data: Buffer, failAfter: number, error = true): Readable {
  let offset = 0;
  return new Readable({
    read() {
      if (offset >= failAfter) {
        // Let the consumer take what it has before the stream dies, as a socket reset would.
        setImmediate(() => this.destroy(error ? new Error('client went away') : undefined));
        return;
      }
      const n = Math.min(64 * 1024, failAfter - offset);
      this.push(data.subarray(offset, offset + n));
      offset += n;
    },
  });
}
