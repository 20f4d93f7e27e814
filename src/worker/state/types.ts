/**
 * Node-local state (Nomad-style): what this worker runs and the lease generations it has seen, kept
 * behind one interface with a durable implementation (json-file.ts, the daemon's) and an in-memory one
 * (memory.ts, for tests and throwaway workers). Both pass the same contract tests.
 *
 * A runtime record is written *before* the provider creates the runtime and removed only *after* it
 * is destroyed, so a crash at any point leaves a record that reconciliation reports to the control
 * plane rather than a runtime nobody knows about.
 *
 * High-water marks outlive runtimes: they are what makes a restarted worker keep refusing a replayed
 * or delayed request for an older lease generation (src/protocol/rpc.ts, the lease rule).
 */
import type { ProviderName } from '../providers/types.js';

/** The worker's view of a runtime: being created, usable, or being torn down. */
export type RuntimeRecordState = 'starting' | 'running' | 'stopping';

export interface RuntimeRecord {
  sandboxId: string;
  runtimeId: string;
  /** The sandbox lease generation this runtime was spawned under. */
  generation: number;
  provider: ProviderName;
  tenantId: string;
  state: RuntimeRecordState;
  /** What the provider was asked for; a restarted worker adopts the runtime with the same request. */
  request: {
    resources: { cpuMilli: number; memoryMb: number; diskMb: number; pids?: number | undefined };
    env: Record<string, string>;
    network: 'none' | 'host';
  };
  /** The spawn answer, so a retried spawn at the same generation answers the same. */
  capabilities: string[];
  warnings: string[];
  /** The lease length the control plane chose (ms), asked for again on every renewal. */
  leaseTtlMs: number;
  /** Worker wall clock; informational only (never compared with the control plane's times). */
  createdAt: number;
}

export interface HighWaterMark {
  generation: number;
  /** The latest lease `expires_at` seen for the sandbox, in the control plane's clock (ms). */
  expiresAt: number;
}

export interface StateStore {
  /** Every runtime record (a snapshot; never blocks on a write in progress). */
  list(): RuntimeRecord[];
  get(sandboxId: string): RuntimeRecord | undefined;
  /** The record naming this runtime, if any (the data-plane routes address runtimes, not sandboxes). */
  findRuntime(runtimeId: string): RuntimeRecord | undefined;
  /** Insert or replace the sandbox's record (one runtime per sandbox); durable when it resolves. */
  put(record: RuntimeRecord): Promise<void>;
  /** Remove the sandbox's record if it names `runtimeId`; false when it did not. */
  remove(sandboxId: string, runtimeId: string): Promise<boolean>;
  /** 0 when the sandbox was never seen. */
  highWater(sandboxId: string): number;
  /**
   * Raise the sandbox's mark to `generation` (never lowers it) and remember `expiresAt` (the max seen).
   * Durable when it resolves: the caller acts on the lease only afterwards.
   */
  raiseHighWater(sandboxId: string, generation: number, expiresAt: number): Promise<HighWaterMark>;
  /**
   * Forget the marks of sandboxes that have no runtime here and whose last seen lease expired before
   * `before` (control-plane clock); returns how many were dropped.
   */
  pruneHighWater(before: number): Promise<number>;
  close(): Promise<void>;
}
