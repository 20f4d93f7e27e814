/**
 * The control plane's collaborators, built once by the composition root (control-plane/compose.ts)
 * and handed to every route and loop. Nothing here is module-level state: two control planes in one
 * test process are fully independent.
 */
import type { Logger } from 'pino';
import type { Clock } from '../domain/clock.js';
import type { BlobStore } from '../blob/types.js';
import type { Config } from '../config/index.js';
import type { Store } from '../store/store.js';
import type { AuditEntry } from '../store/types.js';
import type { AuthSettings } from './auth/authenticate.js';
import type { EventBus } from './events.js';
import type { RateLimiter } from './http/rate-limit.js';
import type { Metrics } from './observability/metrics.js';
import type { WorkerRpc } from './rpc/client.js';

export interface ControlPlane {
  readonly config: Config;
  readonly store: Store;
  readonly clock: Clock;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly rpc: WorkerRpc;
  /** Artifacts: fs (URLs signed by this control plane) or s3 (presigned by S3). */
  readonly blobs: BlobStore;
  /** How clients reach this control plane: `server.public_url`, else the address it listens on. */
  publicUrl(): string;
  readonly events: EventBus;
  readonly auth: AuthSettings;
  readonly rateLimiter: RateLimiter | undefined;
  /** Unique per process: the holder id of this replica's leader lease. */
  readonly replicaId: string;
  /**
   * When this process started (its clock). Liveness measures a worker's silence from the later of its
   * last heartbeat and this, so a restarted control plane never declares its whole fleet lost.
   */
  readonly startedAt: number;
  /** Audit a mutation; never throws (a failed audit write is logged). */
  audit(entry: AuditEntry): Promise<void>;
  /** Resolves when the process is shutting down: long polls and streams end early. */
  readonly shutdown: AbortSignal;
}
