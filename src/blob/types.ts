/**
 * Object storage for task artifacts. One interface, two drivers (`fs.ts`, `s3.ts`), one contract suite
 * (test/blob/contract.ts). Bodies are always streams: no method takes or returns a whole object in
 * memory, so a 1 GiB artifact costs the control plane a few buffers, not a GiB.
 *
 * Keys are '/'-separated relative paths, checked by `normalizeKey` (keys.ts) in every method; an
 * invalid key is a BadRequest before any I/O. A missing object is NotFound (from `get`) or undefined
 * (from `head`).
 */
import type { Readable } from 'node:stream';

export interface PutOptions {
  contentType?: string | undefined;
  /**
   * Lowercase hex SHA-256 the body must have. On mismatch the put fails with BadRequest and nothing
   * is stored under the key (any earlier object under the key is left as it was).
   */
  expectedSha256?: string | undefined;
  /** Exact byte count the body must have; checked like expectedSha256, and enforced while streaming. */
  expectedSize?: number | undefined;
  /** Aborting stops the upload; nothing is stored. */
  signal?: AbortSignal | undefined;
}

export interface PutResult {
  key: string;
  size: number;
  /** Lowercase hex SHA-256 of the bytes stored, computed while they streamed through. */
  sha256: string;
}

/** Inclusive byte range, as in HTTP `Range: bytes=start-end`; an absent or too-large end means "to the end". */
export interface ByteRange {
  start: number;
  end?: number | undefined;
}

export interface GetResult {
  body: Readable;
  /** Size of the whole object. */
  size: number;
  /** Bytes `body` will yield (the range length for a ranged read). */
  contentLength: number;
  /** `bytes start-end/size`, present for ranged reads: what the HTTP edge puts in Content-Range. */
  contentRange?: string | undefined;
  contentType?: string | undefined;
}

export interface HeadResult {
  size: number;
  /**
   * Present when the driver knows the object's SHA-256 for certain (see docs/artifacts.md for when the
   * s3 driver cannot record it). Never a stale value from an earlier object under the same key.
   */
  sha256?: string | undefined;
  /** ms since the epoch. */
  lastModified: number;
  contentType?: string | undefined;
}

export interface ListItem {
  key: string;
  size: number;
  lastModified: number;
}

export interface ListOptions {
  /** Page size; default and maximum 1000. */
  limit?: number | undefined;
  /** Opaque `nextCursor` of the previous page. */
  cursor?: string | undefined;
}

export interface ListResult {
  /** In ascending key order (UTF-8 byte order, as S3 lists). */
  items: ListItem[];
  nextCursor?: string | undefined;
}

export type PresignOp = 'put' | 'get';

export interface PresignResult {
  url: string;
  /** ms since the epoch after which the URL is refused. */
  expiresAt: number;
  method: 'PUT' | 'GET';
  /** Headers the client must send with the request, if any. */
  headers?: Record<string, string> | undefined;
}

export interface BlobStore {
  /** Which driver this is; for logs and `drover doctor`, never for branching outside src/blob. */
  readonly driver: 'fs' | 's3';
  put(key: string, body: Readable, opts?: PutOptions): Promise<PutResult>;
  get(key: string, range?: ByteRange): Promise<GetResult>;
  head(key: string): Promise<HeadResult | undefined>;
  /** Idempotent: deleting a missing key succeeds, as in S3. */
  delete(key: string): Promise<void>;
  /** Objects whose key starts with `prefix` (a plain string prefix, as in S3; '' lists everything). */
  list(prefix: string, opts?: ListOptions): Promise<ListResult>;
  /**
   * A URL that lets its bearer do exactly `op` on `key` until it expires; ttl is capped by config, and
   * by `notAfter` (absolute ms), judged with the same clock reading that dates the URL.
   */
  presign(op: PresignOp, key: string, ttlMs: number, opts?: { notAfter?: number }): Promise<PresignResult>;
  /**
   * Present only on drivers whose presigned URLs point at the control plane itself (fs): the blob
   * route asks it whether a request's URL is genuine. S3 checks its own URLs.
   */
  readonly signedUrls?: SignedUrlVerifier | undefined;
}

/** What the control plane's blob route hands over from the request it received. */
export interface SignedUrlRequest {
  method: string;
  /** The key as decoded from the URL path (before normalisation). */
  key: string;
  /** The `expires` query value, unparsed. */
  expires: string | number | undefined;
  /** The `sig` query value, unparsed. */
  sig: string | undefined;
}

export type SignedUrlCheck =
  | { ok: true; key: string }
  | { ok: false; reason: 'expired' | 'bad_signature' | 'malformed' };

export interface SignedUrlVerifier {
  /** Checks with the store's own signing key and clock; every `ok: false` is a 403 at the edge. */
  verify(request: SignedUrlRequest): SignedUrlCheck;
}

/**
 * The `artifacts` section of the config, restated structurally because src/blob may import only
 * src/domain; `Config['artifacts']` satisfies it.
 */
export interface ArtifactsSettings {
  driver: 'fs' | 's3';
  path: string;
  signing_key?: string | undefined;
  /** ms */
  max_url_ttl: number;
  s3: {
    bucket?: string | undefined;
    region?: string | undefined;
    endpoint?: string | undefined;
    force_path_style: boolean;
    access_key_id?: string | undefined;
    secret_access_key?: string | undefined;
  };
}
