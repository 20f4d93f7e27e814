import { sqliteFixture } from './fixtures.js';
import { storeContract } from './contract/index.js';

storeContract(sqliteFixture);
