/**
 * Runs s3rver, a local S3-compatible server, as a child process of the s3 blob tests:
 *
 *   node --openssl-legacy-provider s3rver-server.js <directory> <bucket>
 *
 * A separate process because s3rver encrypts ListObjectsV2 continuation tokens with single DES, which
 * OpenSSL 3 only offers through its legacy provider, and enabling that is a process-wide flag. It
 * prints `{"port": n}` once listening and exits when its stdin closes, so it cannot outlive the test.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import S3rver from 's3rver';

const [directory, bucket] = process.argv.slice(2);
if (!directory || !bucket) throw new Error('usage: s3rver-server.js <directory> <bucket>');

const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: [{ name: bucket }] });
const uploadsDir = server.store.getResourcePath(bucket, undefined, 'uploads');
// s3rver answers AbortMultipartUpload with 405. Teach it what S3 does (drop the upload and its parts)
// so the contract suite can check that the driver aborts what it started.
server.middleware.unshift(async (ctx, next) => {
  const uploadId = ctx.query['uploadId'];
  if (ctx.method === 'DELETE' && typeof uploadId === 'string' && /^[\w-]+$/.test(uploadId)) {
    await rm(join(uploadsDir, uploadId), { recursive: true, force: true });
    ctx.status = 204;
    return;
  }
  await next();
});

const { port } = await server.run();
process.stdout.write(`${JSON.stringify({ port, uploadsDir })}\n`);
process.stdin.resume();
process.stdin.on('end', () => {
  void server.close().finally(() => process.exit(0));
});
