// s3rver ships no types; this declares the part of its API the blob tests use.
declare module 's3rver' {
  import type { AddressInfo } from 'node:net';

  interface S3rverOptions {
    address?: string;
    port?: number;
    silent?: boolean;
    directory?: string;
    resetOnClose?: boolean;
    configureBuckets?: { name: string; configs?: (string | Buffer)[] }[];
  }

  /** A Koa application: `middleware` is Koa's list, composed when the server starts listening. */
  export default class S3rver {
    constructor(options?: S3rverOptions);
    run(): Promise<AddressInfo>;
    close(): Promise<void>;
    middleware: ((ctx: S3rverContext, next: () => Promise<void>) => unknown)[];
    store: { getResourcePath(bucket: string, key: string | undefined, resource: string): string };
  }

  interface S3rverContext {
    method: string;
    path: string;
    query: Record<string, string | string[] | undefined>;
    status: number;
    body: unknown;
  }
}
