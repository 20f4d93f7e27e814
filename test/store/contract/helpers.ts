import { randomBytes } from 'node:crypto';
import { newId } from '../../../src/domain/ids.js';
import type { Store } from '../../../src/store/store.js';
import type { HeartbeatInput, NewSandbox, NewTask } from '../../../src/store/types.js';

let counter = 0;
/** IDs that sort in creation order within a test run, independent of any clock. */
export function id(prefix: 'sbx' | 'tsk' | 'key' | 'wtk'): string {
  counter += 1;
  return newId(prefix, 1_900_000_000_000 + counter, () => randomBytes(10));
}

export async function tenant(store: Store, name = `t-${randomBytes(4).toString('hex')}`): Promise<string> {
  await store.tenants.ensureTenant(name);
  return name;
}

export function newTask(tenantId: string, over: Partial<NewTask> = {}): NewTask {
  return {
    id: id('tsk'),
    tenantId,
    kind: 'noop',
    input: { n: 1 },
    priority: 0,
    maxAttempts: 3,
    retryBackoffMs: 1000,
    timeoutMs: 3_600_000,
    codeVersion: null,
    labels: {},
    idempotencyKey: null,
    ...over,
  };
}

export function heartbeat(workerId: string, over: Partial<HeartbeatInput> = {}): HeartbeatInput {
  return {
    id: workerId,
    hostname: `${workerId}.local`,
    version: '0.1.0',
    status: 'online',
    providers: ['process'],
    capabilities: [],
    labels: {},
    capacity: { cpuMilli: 4000, memoryMb: 8192, diskMb: 10240, sandboxes: 10 },
    rpcUrl: 'http://127.0.0.1:7430',
    rpcSecret: 'secret',
    taskKinds: [],
    codeVersion: null,
    ...over,
  };
}

export function newSandbox(tenantId: string, over: Partial<NewSandbox> = {}): NewSandbox {
  return {
    id: id('sbx'),
    tenantId,
    spec: {},
    resources: { cpuMilli: 1000, memoryMb: 1024, diskMb: 1024 },
    labels: {},
    metadata: {},
    restartOnWorkerLoss: false,
    ttlMs: 3_600_000,
    idleTimeoutMs: null,
    queueTimeoutMs: 30_000,
    ...over,
  };
}
