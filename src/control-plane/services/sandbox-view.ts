/** A sandbox record as the API shows it (protocol/sandbox.ts `sandboxViewSchema`). */
import { toRfc3339 } from '../../domain/clock.js';
import type { SandboxView } from '../../protocol/sandbox.js';
import type { SandboxRecord } from '../../store/types.js';
import { readSpec } from './sandbox-spec.js';

const time = (ms: number | null) => (ms === null ? null : toRfc3339(ms));

export function toSandboxView(s: SandboxRecord): SandboxView {
  const spec = readSpec(s);
  const runtime = spec.runtime ?? {};
  const fixedPort = typeof spec.service?.port === 'number' ? spec.service.port : null;
  return {
    id: s.id,
    tenant_id: s.tenantId,
    state: s.state,
    state_reason: s.stateReason,
    worker_id: s.workerId,
    runtime_id: s.runtimeId,
    provider: s.provider,
    provider_requested: spec.provider,
    lease_generation: s.generation,
    template: s.template,
    image: spec.image ?? null,
    resources: { cpu: s.resources.cpuMilli / 1000, memory_mb: s.resources.memoryMb, disk_mb: s.resources.diskMb, pids: spec.pids ?? null },
    network: spec.network,
    ports: spec.ports,
    public_ports: spec.public_ports,
    labels: s.labels,
    selector: spec.selector,
    metadata: s.metadata,
    // Values may be credentials; a GET must never hand them back.
    env_keys: Object.keys(spec.env ?? {}).sort(),
    restart_on_worker_loss: s.restartOnWorkerLoss,
    ttl_ms: s.ttlMs,
    idle_timeout_ms: s.idleTimeoutMs,
    expires_at: toRfc3339(s.expiresAt),
    queued_until: time(s.queuedUntil),
    created_at: toRfc3339(s.createdAt),
    updated_at: toRfc3339(s.updatedAt),
    started_at: time(s.startedAt),
    ended_at: time(s.endedAt),
    service: spec.service ? { command: spec.service.command, port: runtime.service_port ?? fixedPort } : null,
    capabilities: runtime.capabilities ?? [],
    warnings: runtime.warnings ?? [],
    previews: {},
  };
}
