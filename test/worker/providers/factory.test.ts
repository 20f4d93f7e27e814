/** createProvider and detectDefaultProvider: the worker's way in. */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createProvider, detectDefaultProvider } from '../../../src/worker/providers/index.js';

describe('provider factory', () => {
  let dataDir: string;
  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'drover-factory-'));
  });
  after(async () => rm(dataDir, { recursive: true, force: true }));

  it('opens the process and mock providers by name', async () => {
    for (const name of ['process', 'mock'] as const) {
      const provider = await createProvider(name, { dataDir });
      assert.equal(provider.name, name);
      assert.equal(provider.info().isolated, false);
      await provider.close();
    }
  });

  it('chooses a default it can actually open, and says why', { timeout: 60_000 }, async () => {
    const choice = await detectDefaultProvider();
    assert.ok(['bwrap', 'process'].includes(choice.name));
    assert.ok(choice.reason.length > 0);
    if (choice.name === 'process') assert.match(choice.reason, /NOT isolated/);
    const provider = await createProvider(choice.name, { dataDir });
    assert.equal(provider.name, choice.name);
    await provider.close();
  });

  it('fails clearly for a provider this build cannot open', async () => {
    await createProvider('bwrap', { dataDir }).then(
      (provider) => provider.close(),
      (err: { code?: string }) => assert.equal(err.code, 'unavailable'),
    );
  });
});
