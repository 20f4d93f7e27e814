/**
 * The s3 driver: any S3-compatible store. Bodies stream both ways; uploads are multipart above one
 * part (s3-upload.ts); presigned URLs are S3's own SigV4 query-string URLs, so clients move bytes to
 * and from the bucket without passing through the control plane.
 */
import {
  DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { Readable } from 'node:stream';
import type { Clock } from '../domain/clock.js';
import { BadRequest } from '../domain/errors.js';
import { checkExpectations } from './digest.js';
import { normalizeKey, normalizePrefix } from './keys.js';
import { pageLimit } from './paging.js';
import { checkRangeShape, sizeFromContentRange } from './range.js';
import { mapS3Error } from './s3-errors.js';
import { DEFAULT_PART_SIZE, uploadToS3 } from './s3-upload.js';
import { capTtl } from './signed-url.js';
import type {
  BlobStore, ByteRange, GetResult, HeadResult, ListOptions, ListResult, PresignOp, PresignResult, PutOptions,
  PutResult,
} from './types.js';

export interface S3BlobStoreOptions {
  client: S3Client;
  bucket: string;
  maxUrlTtlMs: number;
  /** Dates presigned URLs, so their expiry follows the same clock as everything else. */
  clock: Clock;
  /** Multipart part size; S3's minimum is 5 MiB. */
  partSize?: number | undefined;
  /** Parts in flight per upload. */
  queueSize?: number | undefined;
}

/** SigV4 presigned URLs cannot live longer than 7 days. */
export const S3_MAX_URL_TTL_MS = 7 * 24 * 60 * 60 * 1000;
const SHA256_HEX = /^[0-9a-f]{64}$/;

export class S3BlobStore implements BlobStore {
  readonly driver = 's3' as const;
  private readonly client: S3Client;
  private readonly bucket: string;

  constructor(private readonly opts: S3BlobStoreOptions) {
    this.client = opts.client;
    this.bucket = opts.bucket;
  }

  async put(key: string, body: Readable, opts: PutOptions = {}): Promise<PutResult> {
    const k = normalizeKey(key);
    const expect = checkExpectations(opts);
    try {
      const result = await uploadToS3({
        client: this.client,
        bucket: this.bucket,
        key: k,
        body,
        expect,
        contentType: opts.contentType,
        signal: opts.signal,
        partSize: this.opts.partSize ?? DEFAULT_PART_SIZE,
        queueSize: this.opts.queueSize ?? 4,
      });
      return { key: k, ...result };
    } catch (err) {
      throw mapS3Error(err, k);
    }
  }

  async get(key: string, range?: ByteRange): Promise<GetResult> {
    const k = normalizeKey(key);
    if (range) checkRangeShape(range);
    try {
      const out = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: k,
          Range: range ? `bytes=${range.start}-${range.end ?? ''}` : undefined,
        }),
      );
      if (!(out.Body instanceof Readable)) throw new Error('S3 GetObject returned no stream body');
      const contentLength = out.ContentLength ?? 0;
      return {
        body: out.Body,
        size: sizeFromContentRange(out.ContentRange) ?? contentLength,
        contentLength,
        contentRange: range ? out.ContentRange : undefined,
        contentType: out.ContentType,
      };
    } catch (err) {
      throw mapS3Error(err, k);
    }
  }

  async head(key: string): Promise<HeadResult | undefined> {
    const k = normalizeKey(key);
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: k }));
      const sha = out.Metadata?.['sha256'];
      return {
        size: out.ContentLength ?? 0,
        sha256: sha !== undefined && SHA256_HEX.test(sha) ? sha : undefined,
        lastModified: out.LastModified?.getTime() ?? 0,
        contentType: out.ContentType,
      };
    } catch (err) {
      const mapped = mapS3Error(err, k);
      if ((mapped as { code?: unknown }).code === 'not_found') return undefined;
      throw mapped;
    }
  }

  async delete(key: string): Promise<void> {
    const k = normalizeKey(key);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: k }));
    } catch (err) {
      const mapped = mapS3Error(err, k);
      // Deleting what is not there is success, as S3 itself answers.
      if ((mapped as { code?: unknown }).code !== 'not_found') throw mapped;
    }
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    const p = normalizePrefix(prefix);
    const limit = pageLimit(opts.limit);
    try {
      const out = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: p === '' ? undefined : p,
          MaxKeys: limit,
          ContinuationToken: opts.cursor,
        }),
      );
      const items = (out.Contents ?? []).flatMap((o) =>
        o.Key === undefined ? [] : [{ key: o.Key, size: o.Size ?? 0, lastModified: o.LastModified?.getTime() ?? 0 }],
      );
      return { items, nextCursor: out.IsTruncated ? out.NextContinuationToken : undefined };
    } catch (err) {
      // S3 answers a continuation token it did not issue with 400 InvalidArgument: the caller's fault.
      const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (opts.cursor !== undefined && status === 400) throw new BadRequest('invalid list cursor');
      throw mapS3Error(err, p);
    }
  }

  async presign(op: PresignOp, key: string, ttlMs: number, opts: { notAfter?: number } = {}): Promise<PresignResult> {
    const k = normalizeKey(key);
    // SigV4 counts whole seconds from X-Amz-Date, which itself has whole-second precision.
    const signedAt = Math.floor(this.opts.clock.now() / 1000) * 1000;
    const ttl = Math.min(capTtl(ttlMs, this.opts.maxUrlTtlMs, S3_MAX_URL_TTL_MS), (opts.notAfter ?? Number.POSITIVE_INFINITY) - signedAt);
    const expiresIn = Math.max(1, Math.floor(ttl / 1000));
    const command =
      op === 'put'
        ? new PutObjectCommand({ Bucket: this.bucket, Key: k })
        : new GetObjectCommand({ Bucket: this.bucket, Key: k });
    const url = await getSignedUrl(this.client, command, { expiresIn, signingDate: new Date(signedAt) });
    return { url, expiresAt: signedAt + expiresIn * 1000, method: op === 'put' ? 'PUT' : 'GET' };
  }
}
