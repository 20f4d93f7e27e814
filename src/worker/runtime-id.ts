/**
 * Runtime ids and the capability strings a spawn reports. A runtime id is derived from the sandbox
 * and its lease generation: a retried spawn of the same placement lands on the same runtime, even
 * across a worker restart, and a runtime of an older generation can never be mistaken for the current
 * one (so `release` naming an old runtime cannot hit its successor).
 */
import { createHash } from 'node:crypto';
import type { EnforcedLimits } from './providers/types.js';

/** Providers name directories after runtime ids; see providers/process/layout.ts. */
const RUNTIME_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export function runtimeIdFor(sandboxId: string, generation: number): string {
  const plain = `${sandboxId}.g${generation}`;
  if (RUNTIME_ID.test(plain) && !plain.includes('..')) return plain;
  // A sandbox id that cannot name a directory (tests, foreign ids) still gets a stable, safe name.
  return `rt-${createHash('sha256').update(sandboxId).digest('hex').slice(0, 32)}.g${generation}`;
}

/** `memory:rlimit`, `network:namespace`, …: what was enforced, as the API's `capabilities` lists it. */
export function capabilitiesOf(enforced: EnforcedLimits): string[] {
  return Object.entries(enforced).map(([what, how]) => `${what}:${how}`);
}
