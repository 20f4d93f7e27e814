/**
 * The bwrap provider against the shared conformance suite. Skipped, with the reason, where this host
 * cannot run bubblewrap sandboxes (no bwrap, no user namespaces); containment, limits and the other
 * bwrap-only behaviour are in bwrap-specific.test.ts.
 */
import { chmod } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { createBwrapProvider } from '../../../src/worker/providers/bwrap/index.js';
import { providerConformance } from './conformance/index.js';

/** undefined when bwrap sandboxes work on this host; otherwise why not (the skip reason). */
async function bwrapUnavailable(): Promise<string | undefined> {
  if (process.platform !== 'linux') return 'bwrap sandboxes need Linux';
  try {
    const provider = createBwrapProvider({ dataDir: '/tmp' });
    const health = await provider.health();
    await provider.close();
    return health.ok ? undefined : `bwrap cannot start sandboxes here: ${health.detail ?? 'unknown reason'}`;
  } catch (err) {
    return (err as Error).message;
  }
}

const unavailable = await bwrapUnavailable();

if (unavailable) {
  describe('provider conformance (bwrap)', () => {
    it('runs against bwrap', { skip: unavailable }, () => {});
  });
} else {
  const probe = createBwrapProvider({ dataDir: '/nonexistent-probe' });
  providerConformance({
    name: 'bwrap',
    open: async (dataDir) => {
      // mkdtemp makes the dir 0700; bwrap runs as the unprivileged sandbox user and must traverse it.
      await chmod(dataDir, 0o711);
      return createBwrapProvider({ dataDir });
    },
    exempt: probe.info().capabilities.includes('pty') ? {} : { pty: 'this host has neither perl nor python3 to unlock a pty (see info().warnings)' },
  });
}
