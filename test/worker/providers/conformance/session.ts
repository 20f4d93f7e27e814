/**
 * One provider opened on a fresh temporary data dir for a describe block, remembering every runtime it
 * spawned so `close()` leaves no process or directory behind even when a test failed half-way.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import type { Provider, RuntimeHandle, SpawnRequest } from '../../../../src/worker/providers/types.js';
import type { ProviderFixture } from './fixture.js';
import { spawnRequest, uniqueId } from './support.js';

export interface Session {
  provider: Provider;
  dataDir: string;
  /** Spawn a runtime with the suite's defaults; destroyed at the end of the block if still there. */
  spawn(overrides?: Partial<SpawnRequest>): Promise<RuntimeHandle>;
  /** Open another instance of the provider on the same data dir (closed with the session). */
  reopen(): Promise<Provider>;
}

/** Registers before/after hooks in the current describe block; use the returned getter inside tests. */
export function useSession(fixture: ProviderFixture): () => Session {
  let session: Session | undefined;
  const spawned = new Set<string>();
  const extra: Provider[] = [];
  before(async () => {
    const dataDir = await mkdtemp(join(tmpdir(), `drover-provider-${fixture.name}-`));
    const provider = await fixture.open(dataDir);
    session = {
      provider,
      dataDir,
      async spawn(overrides = {}) {
        const runtimeId = overrides.runtimeId ?? uniqueId();
        spawned.add(runtimeId);
        return provider.spawn(spawnRequest(runtimeId, overrides));
      },
      async reopen() {
        const other = await fixture.open(dataDir);
        extra.push(other);
        return other;
      },
    };
  });
  after(async () => {
    if (!session) return;
    for (const runtimeId of spawned) await session.provider.destroy(runtimeId).catch(() => {});
    for (const other of extra) await other.close();
    await session.provider.close();
    await rm(session.dataDir, { recursive: true, force: true });
  });
  return () => {
    if (!session) throw new Error('session used outside its describe block');
    return session;
  };
}
