import { blobContract } from './contract.js';
import { s3Fixture } from './fixtures.js';

// Against s3rver, a local S3-compatible server. It does not check signatures: s3-signature.test.ts does.
blobContract(s3Fixture);
