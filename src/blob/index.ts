export { openBlobStore, type BlobStoreDeps } from './open.js';
export { normalizeKey, normalizePrefix, isUnderPrefix, MAX_KEY_BYTES } from './keys.js';
export { verifySignedUrl, BLOB_ROUTE_PREFIX } from './signed-url.js';
export { FsBlobStore, type FsBlobStoreOptions } from './fs.js';
export { S3BlobStore, type S3BlobStoreOptions } from './s3.js';
export * from './types.js';
