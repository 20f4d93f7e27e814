/** The blob store factory: the one place that knows which drivers exist. */
import { randomBytes } from 'node:crypto';
import { systemClock, type Clock } from '../domain/clock.js';
import { BadRequest } from '../domain/errors.js';
import { FsBlobStore } from './fs.js';
import { createS3Client } from './s3-client.js';
import { S3BlobStore } from './s3.js';
import type { ArtifactsSettings, BlobStore } from './types.js';

export interface BlobStoreDeps {
  /**
   * Base of the fs driver's presigned URLs: the control plane as clients reach it (`server.public_url`).
   * A function when it is known only once the server listens (port 0 in tests).
   */
  publicBaseUrl: string | (() => string);
  clock?: Clock | undefined;
}

export function openBlobStore(artifacts: ArtifactsSettings, deps: BlobStoreDeps): BlobStore {
  const clock = deps.clock ?? systemClock;
  switch (artifacts.driver) {
    case 'fs':
      return new FsBlobStore({
        root: artifacts.path,
        // Without a configured key, URLs are signed with a key that lives as long as this process:
        // fine for one node, and `drover config lint` warns about it in production.
        signingKey: artifacts.signing_key ?? randomBytes(32).toString('hex'),
        maxUrlTtlMs: artifacts.max_url_ttl,
        publicBaseUrl: deps.publicBaseUrl,
        clock,
      });
    case 's3':
      if (!artifacts.s3.bucket) throw new BadRequest('artifacts.s3.bucket is required for the s3 driver');
      return new S3BlobStore({
        client: createS3Client(artifacts.s3),
        bucket: artifacts.s3.bucket,
        maxUrlTtlMs: artifacts.max_url_ttl,
        clock,
      });
    default:
      throw new BadRequest(`unknown artifacts driver "${String((artifacts as { driver: unknown }).driver)}" (expected fs or s3)`);
  }
}
