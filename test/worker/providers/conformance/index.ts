/**
 * The provider conformance suite: every provider runs exactly this (process.test.ts, mock.test.ts,
 * bwrap.test.ts). Whatever the generic worker layers may rely on is asserted here, against real
 * processes; what a provider cannot do is listed in its fixture with the reason, shown as a skip.
 */
import { describe } from 'node:test';
import type { ProviderFixture } from './fixture.js';
import { isolationContract } from './isolation.js';
import { lifecycleContract } from './lifecycle.js';
import { networkContract } from './network.js';
import { processContract } from './processes.js';
import { ptyContract } from './pty.js';

export type { ConformanceCheck, ProviderFixture } from './fixture.js';

export function providerConformance(fixture: ProviderFixture): void {
  describe(`provider conformance (${fixture.name}${fixture.variant ? `, ${fixture.variant}` : ''})`, () => {
    lifecycleContract(fixture);
    processContract(fixture);
    ptyContract(fixture);
    networkContract(fixture);
    isolationContract(fixture);
  });
}
