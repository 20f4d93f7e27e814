/** Small helpers shared by the admin route tests. */
import { hashSecret } from '../../../src/control-plane/auth/secrets.js';
import { newId } from '../../../src/domain/ids.js';
import type { NewSandbox, NewTask } from '../../../src/store/types.js';
import type { TestControlPlane } from '../support/harness.js';

/** The stored id of an API key, found the way authentication finds it: by the hash of the secret. */
export async function keyIdOf(t: TestControlPlane, key: string): Promise<string> {
  const record = await t.store.credentials.findApiKeyByHash(hashSecret(key));
  if (!record) throw new Error('no such live key');
  return record.id;
}

export interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

/** A sandbox record to insert directly with the store (the sandbox routes are not needed for it). */
export function sandboxFor(tenantId: string, now: number, over: Partial<NewSandbox> = {}): NewSandbox {
  return {
    id: newId('sbx', now),
    tenantId,
    spec: {},
    resources: { cpuMilli: 1500, memoryMb: 512, diskMb: 1024 },
    labels: {},
    metadata: {},
    restartOnWorkerLoss: false,
    ttlMs: 3_600_000,
    idleTimeoutMs: null,
    queueTimeoutMs: 30_000,
    ...over,
  };
}

export function taskFor(tenantId: string, now: number, kind = 'noop'): NewTask {
  return {
    id: newId('tsk', now),
    tenantId,
    kind,
    input: {},
    priority: 0,
    maxAttempts: 1,
    retryBackoffMs: 1000,
    timeoutMs: 3_600_000,
    codeVersion: null,
    labels: {},
    idempotencyKey: null,
  };
}
