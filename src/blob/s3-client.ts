/**
 * Builds the S3 client from `artifacts.s3`. Kept apart from the driver so tests and the driver share
 * one idea of what "configured for an S3-compatible server" means.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { BadRequest } from '../domain/errors.js';
import type { ArtifactsSettings } from './types.js';

export function createS3Client(s3: ArtifactsSettings['s3']): S3Client {
  if ((s3.access_key_id === undefined) !== (s3.secret_access_key === undefined)) {
    throw new BadRequest('artifacts.s3.access_key_id and artifacts.s3.secret_access_key must be given together');
  }
  return new S3Client({
    // S3-compatible servers (MinIO and the like) usually ignore the region but SigV4 still needs one;
    // against AWS itself an absent region is left to the standard chain (AWS_REGION, profile).
    region: s3.region ?? (s3.endpoint !== undefined ? 'us-east-1' : undefined),
    endpoint: s3.endpoint,
    forcePathStyle: s3.force_path_style,
    // Absent keys mean the standard AWS credential chain (environment, profile, instance role).
    credentials:
      s3.access_key_id !== undefined && s3.secret_access_key !== undefined
        ? { accessKeyId: s3.access_key_id, secretAccessKey: s3.secret_access_key }
        : undefined,
    // Since SDK 3.729 the default adds CRC32 checksums to every upload, as aws-chunked trailers on
    // streams and as query parameters on presigned PUT URLs. Many S3-compatible servers reject the
    // former, and the latter makes a presigned PUT demand the checksum of an empty body. We verify
    // content ourselves (sha256 while streaming), so only send checksums where S3 requires them.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}
