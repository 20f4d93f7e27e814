/**
 * The fs driver: artifacts as plain files under `artifacts.path` (layout in fs-layout.ts). The default
 * for single-node installs. Presigned URLs point at the control plane's blob route, which checks them
 * with `signedUrls.verify` and streams the body into `put` or out of `get`.
 *
 * Durability and visibility: an upload streams into tmp/ while it is hashed, is fsynced, and only then
 * renamed to its key, so an object is either absent or complete — never partial — and an upload that
 * fails or is aborted leaves nothing behind (its temp file is removed).
 */
import { randomUUID } from 'node:crypto';
import {
  close as closeCb, constants, createWriteStream, fstat as fstatCb, fsync as fsyncCb, open as openCb, type BigIntStats,
} from 'node:fs';
import { lstat, open, readdir, rename, rm, rmdir, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import type { Clock } from '../domain/clock.js';
import { Conflict, NotFound } from '../domain/errors.js';
import { DigestStream, checkExpectations, uploadFailure } from './digest.js';
import { listObjects } from './fs-list.js';
import {
  OutsideStore, assertConfined, ensureParent, errnoOf, pathIn, prepareLayout, readMeta, syncDir, writeDurable,
  type Layout, type MetaRecord,
} from './fs-layout.js';
import { normalizeKey, normalizePrefix } from './keys.js';
import { decodeKeyCursor, encodeKeyCursor, pageLimit } from './paging.js';
import { checkRangeShape, resolveRange } from './range.js';
import { buildSignedUrl, capTtl, verifySignedUrl } from './signed-url.js';
import type {
  BlobStore, ByteRange, GetResult, HeadResult, ListOptions, ListResult, PresignOp, PresignResult, PutOptions,
  PutResult, SignedUrlVerifier,
} from './types.js';

export interface FsBlobStoreOptions {
  root: string;
  signingKey: string;
  maxUrlTtlMs: number;
  /** Origin (and optional path prefix) of the control plane as clients reach it, e.g. `https://drover.example`. */
  publicBaseUrl: string | (() => string);
  clock: Clock;
}

const fsOpen = promisify(openCb);
const fsync = promisify(fsyncCb);
const fsClose = promisify(closeCb);
const fstat = (fd: number, opts: { bigint: true }) =>
  new Promise<BigIntStats>((resolve, reject) => fstatCb(fd, opts, (err, st) => (err ? reject(err) : resolve(st))));

/** Temp files older than this at startup belong to uploads that died with a previous process. */
const STALE_TEMP_MS = 60 * 60 * 1000;
/** Errors that mean "nothing (of ours) is at this path". */
const ABSENT = new Set(['ENOENT', 'ENOTDIR', 'ELOOP', 'EISDIR', 'EPERM']);
/** Errors that mean the key and an existing key disagree about what is a file and what a folder. */
const SHAPE_CLASH = new Set(['ENOTDIR', 'EISDIR', 'ENOTEMPTY', 'EEXIST']);
/** A concurrent delete may prune the directory between our mkdir and our rename; that many retries. */
const RENAME_ATTEMPTS = 4;

export class FsBlobStore implements BlobStore {
  readonly driver = 'fs' as const;
  readonly signedUrls: SignedUrlVerifier;
  private layout: Promise<Layout> | undefined;

  constructor(private readonly opts: FsBlobStoreOptions) {
    this.signedUrls = { verify: (req) => verifySignedUrl(req, opts.signingKey, opts.clock.now()) };
  }

  async put(key: string, body: Readable, opts: PutOptions = {}): Promise<PutResult> {
    const k = normalizeKey(key);
    const digest = new DigestStream(checkExpectations(opts));
    const layout = await this.ready();
    const objectPath = pathIn(layout.objects, k);
    const metaPath = pathIn(layout.meta, k);
    const id = randomUUID();
    const tmpObject = join(layout.tmp, `${id}.object`);
    const tmpMeta = join(layout.tmp, `${id}.meta`);
    try {
      const ino = await this.receive(body, digest, tmpObject, opts.signal);
      const { size, sha256 } = digest.result();
      const meta: MetaRecord = { v: 1, sha256, size, contentType: opts.contentType, ino };
      await writeDurable(tmpMeta, JSON.stringify(meta));
      // Meta first, object second: see fs-layout.ts for why a reader in between sees no wrong sha256.
      await place(layout.meta, tmpMeta, metaPath);
      await place(layout.objects, tmpObject, objectPath);
      await syncDir(dirname(objectPath));
      return { key: k, size, sha256 };
    } catch (err) {
      await Promise.all([rm(tmpObject, { force: true }), rm(tmpMeta, { force: true })]);
      const code = errnoOf(err);
      if (code !== undefined && SHAPE_CLASH.has(code)) {
        throw new Conflict(`key ${k} clashes with an existing key (one would be a folder of the other)`);
      }
      throw uploadFailure(err, digest, opts.signal);
    }
  }

  async get(key: string, range?: ByteRange): Promise<GetResult> {
    const k = normalizeKey(key);
    if (range) checkRangeShape(range);
    const layout = await this.ready();
    const handle = await this.openObject(layout, k);
    try {
      const st = await handle.stat({ bigint: true });
      if (!st.isFile()) throw new NotFound(`blob ${k}`);
      const size = Number(st.size);
      const meta = await readMeta(pathIn(layout.meta, k));
      const contentType = meta?.ino === st.ino.toString() ? meta.contentType : undefined;
      if (!range) return { body: handle.createReadStream(), size, contentLength: size, contentType };
      const r = resolveRange(range, size);
      return {
        body: handle.createReadStream({ start: r.start, end: r.end }),
        size,
        contentLength: r.contentLength,
        contentRange: r.contentRange,
        contentType,
      };
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  async head(key: string): Promise<HeadResult | undefined> {
    const k = normalizeKey(key);
    const layout = await this.ready();
    const path = pathIn(layout.objects, k);
    let st;
    try {
      await assertConfined(layout.objects, path);
      st = await lstat(path, { bigint: true });
    } catch (err) {
      if (err instanceof OutsideStore || ABSENT.has(errnoOf(err) ?? '')) return undefined;
      throw err;
    }
    if (!st.isFile()) return undefined;
    const size = Number(st.size);
    const meta = await readMeta(pathIn(layout.meta, k));
    const current = meta !== undefined && meta.ino === st.ino.toString() && meta.size === size;
    return {
      size,
      sha256: current ? meta.sha256 : undefined,
      lastModified: Number(st.mtimeMs),
      contentType: current ? meta.contentType : undefined,
    };
  }

  async delete(key: string): Promise<void> {
    const k = normalizeKey(key);
    const layout = await this.ready();
    // Object first: once it is gone the key is gone, whatever happens to its meta file.
    for (const base of [layout.objects, layout.meta]) {
      const path = pathIn(base, k);
      try {
        await assertConfined(base, path);
        await unlink(path);
      } catch (err) {
        if (err instanceof OutsideStore || ABSENT.has(errnoOf(err) ?? '')) continue;
        throw err;
      }
      await pruneEmptyDirs(base, dirname(path));
    }
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    const p = normalizePrefix(prefix);
    const limit = pageLimit(opts.limit);
    const after = decodeKeyCursor(opts.cursor);
    const layout = await this.ready();
    // One extra item tells us whether another page exists without an empty last page.
    const items = await listObjects(layout.objects, p, after, limit + 1);
    if (items.length <= limit) return { items };
    const page = items.slice(0, limit);
    return { items: page, nextCursor: encodeKeyCursor(page[page.length - 1]!.key) };
  }

  async presign(op: PresignOp, key: string, ttlMs: number, opts: { notAfter?: number } = {}): Promise<PresignResult> {
    const k = normalizeKey(key);
    const method = op === 'put' ? 'PUT' : 'GET';
    const expiresAt = Math.min(this.opts.clock.now() + capTtl(ttlMs, this.opts.maxUrlTtlMs), opts.notAfter ?? Number.POSITIVE_INFINITY);
    return { url: buildSignedUrl(typeof this.opts.publicBaseUrl === 'function' ? this.opts.publicBaseUrl() : this.opts.publicBaseUrl, method, k, expiresAt, this.opts.signingKey), expiresAt, method };
  }

  /** Streams the body into a new temp file, fsyncs it, and returns its inode for the meta record. */
  private async receive(body: Readable, digest: DigestStream, tmpPath: string, signal?: AbortSignal): Promise<string> {
    // A raw descriptor rather than a FileHandle: a FileHandle's close() waits for its streams to
    // close, and we must keep the file open after the stream finishes, to fsync it.
    const fd = await fsOpen(tmpPath, 'wx', 0o600);
    const out = createWriteStream(tmpPath, { fd, autoClose: false });
    try {
      await pipeline(body, digest, out, { signal });
      await fsync(fd);
      return (await fstat(fd, { bigint: true })).ino.toString();
    } finally {
      // When the pipeline fails, Node destroys the stream, which closes the descriptor even with
      // autoClose off. Closing it again could close a number already reused by another upload, a
      // socket or the database file, so close only what is still open.
      if (!out.destroyed) await fsClose(fd);
    }
  }

  private async openObject(layout: Layout, k: string): Promise<FileHandle> {
    const path = pathIn(layout.objects, k);
    try {
      await assertConfined(layout.objects, path);
      // O_NOFOLLOW: a symlink planted at the key's own path is not followed out of the store.
      return await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (err) {
      if (err instanceof OutsideStore || ABSENT.has(errnoOf(err) ?? '')) throw new NotFound(`blob ${k}`);
      throw err;
    }
  }

  private ready(): Promise<Layout> {
    this.layout ??= prepareLayout(this.opts.root).then(
      async (layout) => {
        await this.sweepStaleTemp(layout.tmp);
        return layout;
      },
      (err: unknown) => {
        // Not cached: a root that was missing or unwritable may be fixed without a restart.
        this.layout = undefined;
        throw err;
      },
    );
    return this.layout;
  }

  private async sweepStaleTemp(tmp: string): Promise<void> {
    const cutoff = this.opts.clock.now() - STALE_TEMP_MS;
    for (const name of await readdir(tmp)) {
      const path = join(tmp, name);
      const st = await lstat(path).catch(() => undefined);
      if (st && st.mtimeMs < cutoff) await rm(path, { force: true, recursive: true });
    }
  }
}

/** mkdir -p the destination's folder (confined), then rename; retried if a delete pruned the folder. */
async function place(base: string, from: string, to: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await ensureParent(base, to);
      await rename(from, to);
      return;
    } catch (err) {
      if (errnoOf(err) !== 'ENOENT' || attempt >= RENAME_ATTEMPTS) throw err;
    }
  }
}

/** Removes folders emptied by a delete, up to (not including) the tree's root; stops at the first non-empty one. */
async function pruneEmptyDirs(base: string, dir: string): Promise<void> {
  for (let d = dir; d !== base && d.startsWith(base); d = dirname(d)) {
    try {
      await rmdir(d);
    } catch {
      return;
    }
  }
}
