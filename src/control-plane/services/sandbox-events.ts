/**
 * `sandbox.*` events: one per state a sandbox enters (sandbox.created, .starting, .running, .requeued,
 * .failed, .stopping, .stopped, .expired) plus .extended. Emitting never throws (the bus logs a failed
 * append), so callers emit after the state change is committed and never undo it for an event.
 */
import type { ControlPlane } from '../deps.js';
import type { SandboxRecord } from '../../store/types.js';

export type SandboxEventType = 'created' | 'starting' | 'running' | 'requeued' | 'failed' | 'stopping' | 'stopped' | 'expired' | 'extended';

export async function emitSandbox(cp: ControlPlane, type: SandboxEventType, s: SandboxRecord, extra: Record<string, unknown> = {}): Promise<void> {
  await cp.events.emit({
    type: `sandbox.${type}`,
    tenantId: s.tenantId,
    resourceType: 'sandbox',
    resourceId: s.id,
    data: { state: s.state, reason: s.stateReason, worker_id: s.workerId, generation: s.generation, ...extra },
  });
}
