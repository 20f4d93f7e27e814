import { blobContract } from './contract.js';
import { fsFixture } from './fixtures.js';

blobContract(fsFixture);
