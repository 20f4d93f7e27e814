/**
 * Tenant quotas for sandboxes (02-api.md: max_sandboxes, max_cpu, max_memory_mb, max_ttl_ms). The check
 * that counts is atomic with the insert (store `createSandboxWithinQuota`); these helpers only translate
 * between the store's terms and the API's.
 */
import { DroverError } from '../../domain/errors.js';
import type { SandboxQuotaLimits, SandboxUsage } from '../../store/queries/sandboxes.js';
import type { Quota } from '../../store/types.js';
import type { AdmissionView } from '../../protocol/sandbox.js';

export function sandboxLimits(q: Quota): SandboxQuotaLimits {
  return { maxSandboxes: q.maxSandboxes, maxCpuMilli: q.maxCpuMilli, maxMemoryMb: q.maxMemoryMb };
}

export type QuotaLimitName = 'max_sandboxes' | 'max_cpu' | 'max_memory_mb';

/** Which limit one more sandbox of `need` would cross, if any (the same order the store checks). */
export function exceededLimit(q: Quota, usage: SandboxUsage, need: { cpuMilli: number; memoryMb: number }): QuotaLimitName | undefined {
  if (q.maxSandboxes !== null && usage.sandboxes + 1 > q.maxSandboxes) return 'max_sandboxes';
  if (q.maxCpuMilli !== null && usage.cpuMilli + need.cpuMilli > q.maxCpuMilli) return 'max_cpu';
  if (q.maxMemoryMb !== null && usage.memoryMb + need.memoryMb > q.maxMemoryMb) return 'max_memory_mb';
  return undefined;
}

/** 429 quota_exceeded, naming the limit with its usage and maximum in API units. */
export function quotaExceeded(limit: QuotaLimitName, usage: SandboxUsage, q: Quota): DroverError {
  const view = quotaView(usage, q);
  const key = limit === 'max_sandboxes' ? 'sandboxes' : limit === 'max_cpu' ? 'cpu' : 'memory_mb';
  return new DroverError('quota_exceeded', `sandbox quota exceeded: ${limit} is ${String(view.max[key])}`, { limit, used: view.used[key], max: view.max[key] });
}

export function quotaView(usage: SandboxUsage, q: Quota): AdmissionView['quota'] {
  return {
    used: { sandboxes: usage.sandboxes, cpu: usage.cpuMilli / 1000, memory_mb: usage.memoryMb },
    max: { sandboxes: q.maxSandboxes, cpu: q.maxCpuMilli === null ? null : q.maxCpuMilli / 1000, memory_mb: q.maxMemoryMb, ttl_ms: q.maxTtlMs },
  };
}
