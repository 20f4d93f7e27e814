/**
 * A streaming tar reader: entries one at a time, each file body an async iterable the caller must
 * consume (or not — the reader skips what is left) before asking for the next entry. Nothing larger
 * than one source chunk is buffered, except PAX / GNU long-name bodies, which are bounded.
 */
import { BadRequest, DroverError } from '../../../domain/errors.js';
import type { TarHeader } from './tar-format.js';
import { BLOCK, decodeHeader, isZeroBlock, parsePax } from './tar-format.js';

/** Largest PAX or GNU long-name body accepted (a name is at most 4 KiB anyway). */
const MAX_META_BYTES = 64 * 1024;

export interface TarEntry extends TarHeader {
  body: AsyncIterable<Buffer>;
}

export interface TarReadLimits {
  /** Bound on the sum of all entry bodies (the extracted size). */
  maxBytes: number;
  maxEntries: number;
}

/** Pulls exact byte counts out of a chunked source. */
class ByteSource {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private done = false;
  constructor(private readonly source: AsyncIterator<Uint8Array>) {}

  private async fill(): Promise<boolean> {
    if (this.done) return false;
    const next = await this.source.next();
    if (next.done === true) {
      this.done = true;
      return false;
    }
    const chunk = Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    return true;
  }

  /** Exactly n bytes, or null at a clean end (nothing left); a partial read is a truncated archive. */
  async exactly(n: number): Promise<Buffer | null> {
    while (this.buffered < n) {
      if (!(await this.fill())) {
        if (this.buffered === 0) return null;
        throw new BadRequest('archive is truncated');
      }
    }
    return this.take(n);
  }

  /** Between 1 and n bytes (whatever is at hand); throws on a premature end. */
  async upTo(n: number): Promise<Buffer> {
    while (this.buffered === 0) {
      if (!(await this.fill())) throw new BadRequest('archive is truncated');
    }
    return this.take(Math.min(n, this.buffered));
  }

  /**
   * Read and discard the rest of the source, up to `max` bytes (tar(1) pads archives to 10 KiB
   * records after the end marker; reading them lets an HTTP body finish normally).
   */
  async drain(max: number): Promise<void> {
    let seen = this.buffered;
    this.chunks = [];
    this.buffered = 0;
    while (seen <= max && (await this.fill())) {
      seen += this.buffered;
      this.chunks = [];
      this.buffered = 0;
    }
  }

  /** Tell the source we stopped (for a stream: destroy it), unless it already ended. */
  async close(): Promise<void> {
    if (!this.done) {
      this.done = true;
      await this.source.return?.();
    }
  }

  private take(n: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length >= n) {
      this.chunks[0] = first.subarray(n);
      if (this.chunks[0].length === 0) this.chunks.shift();
      this.buffered -= n;
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[0]!;
      const used = Math.min(chunk.length, n - filled);
      chunk.copy(out, filled, 0, used);
      filled += used;
      if (used === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(used);
    }
    this.buffered -= n;
    return out;
  }
}

/** Trailing bytes after the end-of-archive marker that we read and ignore before letting go. */
const MAX_TRAILER_BYTES = 1024 * 1024;

/**
 * Entries of the tar stream `source`. When reading stops — at the end marker, on an error, or because
 * the caller stopped — the source iterator is closed with return() (for a Readable that destroys it),
 * after draining a bounded trailer in the normal case.
 */
export async function* readTar(source: AsyncIterable<Uint8Array>, limits: TarReadLimits): AsyncGenerator<TarEntry> {
  const bytes = new ByteSource(source[Symbol.asyncIterator]());
  try {
    yield* entries(bytes, limits);
    await bytes.drain(MAX_TRAILER_BYTES);
  } finally {
    await bytes.close();
  }
}

async function* entries(bytes: ByteSource, limits: TarReadLimits): AsyncGenerator<TarEntry> {
  let total = 0;
  let entries = 0;
  let pending: { path?: string; linkpath?: string; size?: number } = {};
  for (;;) {
    const block = await bytes.exactly(BLOCK);
    if (block === null || isZeroBlock(block)) return; // end of archive (second zero block not required)
    if (++entries > limits.maxEntries) throw new BadRequest(`archive has more than ${limits.maxEntries} entries`);
    const header = decodeHeader(block);
    const meta = header.type === 'pax' || header.type === 'pax-global' || header.type === 'gnu-longname' || header.type === 'gnu-longlink';
    // A PAX size applies to the next real entry, never to another metadata header.
    const size = meta ? header.size : (pending.size ?? header.size);
    total += size;
    if (total > limits.maxBytes) {
      throw new DroverError('payload_too_large', `archive contents exceed ${limits.maxBytes} bytes`);
    }
    if (meta) {
      if (size > MAX_META_BYTES) throw new BadRequest('archive metadata header too large');
      const body = await readBody(bytes, size);
      if (header.type === 'pax') {
        const pax = parsePax(body);
        const paxSize = pax.get('size');
        if (paxSize !== undefined) {
          if (!/^\d+$/.test(paxSize) || !Number.isSafeInteger(Number(paxSize))) throw new BadRequest('malformed PAX size');
          pending.size = Number(paxSize);
        }
        if (pax.has('path')) pending.path = pax.get('path')!;
        if (pax.has('linkpath')) pending.linkpath = pax.get('linkpath')!;
      } else if (header.type === 'gnu-longname') {
        pending.path = cString(body);
      } else if (header.type === 'gnu-longlink') {
        pending.linkpath = cString(body);
      }
      continue;
    }
    const entry: TarHeader = {
      ...header,
      name: pending.path ?? header.name,
      linkname: pending.linkpath ?? header.linkname,
      size,
    };
    pending = {};
    // Only regular files carry a body we hand out; others' (rare) bodies are skipped.
    const dataSize = entry.type === 'file' ? size : 0;
    let left = dataSize;
    const body = (async function* () {
      while (left > 0) {
        const chunk = await bytes.upTo(left);
        left -= chunk.length;
        yield chunk;
      }
    })();
    yield { ...entry, body };
    while (left > 0) left -= (await bytes.upTo(left)).length;
    await skip(bytes, (entry.type === 'file' ? 0 : size) + padOf(size));
  }
}

function padOf(size: number): number {
  const rest = size % BLOCK;
  return rest === 0 ? 0 : BLOCK - rest;
}

async function readBody(bytes: ByteSource, size: number): Promise<Buffer> {
  const body = size === 0 ? Buffer.alloc(0) : await bytes.exactly(size);
  if (body === null) throw new BadRequest('archive is truncated');
  await skip(bytes, padOf(size));
  return body;
}

async function skip(bytes: ByteSource, n: number): Promise<void> {
  let left = n;
  while (left > 0) left -= (await bytes.upTo(left)).length;
}

function cString(body: Buffer): string {
  const end = body.indexOf(0);
  return body.subarray(0, end === -1 ? body.length : end).toString('utf8');
}
