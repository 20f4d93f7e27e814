/**
 * How each driver is opened for the blob contract suite. A fixture gives an empty store whose
 * presigned URLs are reachable with plain `fetch`, and a way to see what an upload left behind.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { FsBlobStore } from '../../src/blob/fs.js';
import { createS3Client } from '../../src/blob/s3-client.js';
import { S3BlobStore } from '../../src/blob/s3.js';
import type { BlobStore } from '../../src/blob/types.js';
import { systemClock } from '../../src/domain/clock.js';
import { MiB } from './support/bytes.js';
import { startSignedRoute } from './support/signed-route.js';

export interface OpenedBlobStore {
  store: BlobStore;
  /** artifacts.max_url_ttl the store was opened with. */
  maxUrlTtlMs: number;
  /** Upload debris: fs temp files, or s3 multipart uploads that were neither completed nor aborted. */
  leftovers(): Promise<string[]>;
  close(): Promise<void>;
}

export interface BlobFixture {
  name: 'fs' | 's3';
  /** Bodies above this size take the driver's large-object path (s3: multipart). */
  largeBody: number;
  open(): Promise<OpenedBlobStore>;
  /** Contract tests this fixture's server cannot pass, each with the reason (not the driver's fault). */
  skips?: { concurrentPut?: string };
}

const MAX_URL_TTL = 10 * 60 * 1000;

export const fsFixture: BlobFixture = {
  name: 'fs',
  largeBody: 6 * MiB,
  async open() {
    const root = await mkdtemp(join(tmpdir(), 'drover-blob-fs-'));
    const route = await startSignedRoute();
    const store = new FsBlobStore({
      root,
      signingKey: 'test-signing-key',
      maxUrlTtlMs: MAX_URL_TTL,
      publicBaseUrl: route.baseUrl,
      clock: systemClock,
    });
    route.attach(store);
    return {
      store,
      maxUrlTtlMs: MAX_URL_TTL,
      leftovers: async () => readdir(join(root, 'tmp')).catch(() => []),
      async close() {
        await route.close();
        await rm(root, { recursive: true, force: true });
      },
    };
  },
};

const BUCKET = 'drover-test';
/** s3rver's one built-in account. */
const S3RVER_KEY = 'S3RVER';

interface S3rverProcess {
  port: number;
  uploadsDir: string;
  stop(): Promise<void>;
}

async function startS3rver(directory: string): Promise<S3rverProcess> {
  const script = fileURLToPath(new URL('./support/s3rver-server.js', import.meta.url));
  const child = spawn(process.execPath, ['--openssl-legacy-provider', script, directory, BUCKET], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const [line] = (await Promise.race([
    once(createInterface({ input: child.stdout }), 'line'),
    exited.then(() => {
      throw new Error('s3rver exited before it was listening');
    }),
  ])) as [string];
  const { port, uploadsDir } = JSON.parse(line) as { port: number; uploadsDir: string };
  return {
    port,
    uploadsDir,
    async stop() {
      // Closing stdin asks it to stop; it exits on its own, so no signal is needed.
      child.stdin.end();
      await exited;
    },
  };
}

export const s3Fixture: BlobFixture = {
  name: 's3',
  // The smallest part size S3 allows, so multipart is exercised by bodies of a few MiB.
  largeBody: 6 * MiB,
  skips: {
    concurrentPut: 's3rver writes an object in place while it arrives; S3 itself replaces objects atomically',
  },
  async open() {
    const directory = await mkdtemp(join(tmpdir(), 'drover-blob-s3-'));
    const server = await startS3rver(directory);
    const client = createS3Client({
      endpoint: `http://127.0.0.1:${server.port}`,
      region: 'us-east-1',
      force_path_style: true,
      access_key_id: S3RVER_KEY,
      secret_access_key: S3RVER_KEY,
    });
    const store = new S3BlobStore({ client, bucket: BUCKET, maxUrlTtlMs: MAX_URL_TTL, clock: systemClock, partSize: 5 * MiB });
    return {
      store,
      maxUrlTtlMs: MAX_URL_TTL,
      leftovers: async () => readdir(server.uploadsDir).catch(() => []),
      async close() {
        client.destroy();
        await server.stop();
        await rm(directory, { recursive: true, force: true });
      },
    };
  },
};
