import { describePostgres } from '../support/postgres.js';
import { postgresFixture } from './fixtures.js';
import { storeContract } from './contract/index.js';

await describePostgres('store contract on PostgreSQL', () => storeContract(postgresFixture));
