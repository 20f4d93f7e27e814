/** S3 errors, classified once into domain errors so nothing above the driver knows S3's vocabulary. */
import { DroverError, NotFound, Unavailable } from '../domain/errors.js';
import { rangeNotSatisfiable } from './range.js';

interface AwsLikeError {
  name?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
}

const NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EPIPE', 'TimeoutError']);

export function mapS3Error(err: unknown, key: string): unknown {
  if (err instanceof DroverError) return err;
  const e = (err ?? {}) as AwsLikeError;
  const status = e.$metadata?.httpStatusCode;
  // A missing bucket is a misconfiguration, not a missing object; let it surface as it is (500, logged).
  if (e.name === 'NoSuchBucket') return err;
  if (e.name === 'NoSuchKey' || e.name === 'NotFound' || status === 404) return new NotFound(`blob ${key}`);
  if (e.name === 'InvalidRange' || status === 416) return rangeNotSatisfiable();
  if ((status !== undefined && status >= 500) || NETWORK.has(e.code ?? '') || NETWORK.has(e.name ?? '')) {
    return new Unavailable('the object store is unavailable');
  }
  return err;
}
