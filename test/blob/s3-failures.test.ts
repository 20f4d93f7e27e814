/**
 * The s3 driver when the object store misbehaves: a scripted S3 endpoint (node:http) that fails the
 * way real ones do, to check that failures become the right domain errors, that a multipart upload
 * the driver started is aborted, and that nothing escapes as an uncaught error.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { createS3Client } from '../../src/blob/s3-client.js';
import { S3BlobStore } from '../../src/blob/s3.js';
import { systemClock } from '../../src/domain/clock.js';
import { DroverError } from '../../src/domain/errors.js';
import { MiB, chunked, pseudoRandom } from './support/bytes.js';

const xmlError = (code: string) => `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>scripted</Message></Error>`;
const isCode = (code: string) => (err: unknown) => err instanceof DroverError && err.code === code;

describe('s3 driver against a failing object store', () => {
  let server: Server;
  let endpoint: string;
  let seen: string[];

  before(async () => {
    server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://s3');
      const op = url.searchParams.has('uploads')
        ? 'create'
        : url.searchParams.has('partNumber')
          ? 'part'
          : url.searchParams.has('uploadId') && req.method === 'DELETE'
            ? 'abort'
            : `${req.method} ${url.pathname}`;
      seen.push(op);
      req.resume();
      req.on('end', () => {
        if (op === 'create') {
          res.writeHead(200, { 'content-type': 'application/xml' });
          res.end('<?xml version="1.0" encoding="UTF-8"?><InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>up-1</UploadId></InitiateMultipartUploadResult>');
        } else if (op === 'abort') {
          res.writeHead(204).end();
        } else if (url.pathname.startsWith('/gone/')) {
          res.writeHead(404, { 'content-type': 'application/xml' }).end(xmlError('NoSuchBucket'));
        } else {
          res.writeHead(500, { 'content-type': 'application/xml' }).end(xmlError('InternalError'));
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  beforeEach(() => {
    seen = [];
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const open = (bucket = 'b', at = endpoint) =>
    new S3BlobStore({
      client: createS3Client({ endpoint: at, region: 'us-east-1', force_path_style: true, access_key_id: 'AK', secret_access_key: 'SK' }),
      bucket,
      maxUrlTtlMs: 60_000,
      clock: systemClock,
      partSize: 5 * MiB,
    });

  it('a failing single PUT is Unavailable', async () => {
    await assert.rejects(open().put('k', chunked(Buffer.from('small'))), isCode('unavailable'));
  });

  it('a failing part aborts the multipart upload it started, and is Unavailable', async () => {
    await assert.rejects(open().put('k', chunked(pseudoRandom(12 * MiB))), isCode('unavailable'));
    assert.equal(seen[0], 'create');
    assert.ok(seen.includes('part'));
    assert.equal(seen.at(-1), 'abort', `requests: ${seen.join(', ')}`);
  });

  it('reads from a failing store are Unavailable; an unreachable one too', async () => {
    await assert.rejects(open().get('k'), isCode('unavailable'));
    await assert.rejects(open().list('p/'), isCode('unavailable'));
    const nowhere = new S3BlobStore({
      client: createS3Client({ endpoint: 'http://127.0.0.1:1', region: 'us-east-1', force_path_style: true, access_key_id: 'AK', secret_access_key: 'SK' }),
      bucket: 'b',
      maxUrlTtlMs: 60_000,
      clock: systemClock,
    });
    await assert.rejects(nowhere.head('k'), isCode('unavailable'));
  });

  it('a missing bucket is not mistaken for a missing object', async () => {
    await assert.rejects(open('gone').get('k'), (err: unknown) => !(err instanceof DroverError) && (err as Error).name === 'NoSuchBucket');
  });
});
