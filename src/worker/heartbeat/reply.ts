/**
 * What the worker does with a heartbeat reply — synchronously, because the loop must never wait on
 * sandbox work; anything slow is handed to `inBackground`:
 *   - anchor the control plane's clock (server-time.ts) and record `cordoned` and `drain`;
 *   - on the first reply to an inventory: reconcile (destroy what was released, adopt the rest), then
 *     serve; on later ones: destroy what was released;
 *   - forget high-water marks of sandboxes long gone.
 * It also remembers which records each inventory was built from, so `release` ids map back to them.
 */
import type { Logger } from 'pino';
import type { HeartbeatReply, HeartbeatRequest } from '../../protocol/worker-protocol.js';
import { applyPlan, planRelease } from '../reconcile.js';
import type { RuntimeManager } from '../runtimes.js';
import type { ServerTime } from '../server-time.js';
import type { RuntimeRecord, StateStore } from '../state/types.js';
import type { WorkerStatus } from '../status.js';

/** High-water marks are kept this long past their last lease's expiry (control-plane clock). */
export const HIGH_WATER_RETENTION_MS = 24 * 3_600_000;

export interface ReplyHandlerDeps {
  serverTime: ServerTime;
  status: WorkerStatus;
  runtimes: RuntimeManager;
  state: StateStore;
  log: Logger;
  inBackground(work: Promise<unknown>): void;
  /** Fenced `failed` report for a runtime that could not be adopted. */
  reportFailed(record: RuntimeRecord, reason: string): Promise<void>;
  /** Unrecorded runtimes destroyed before the first heartbeat, for the reconciliation log line. */
  unrecordedDestroyed: number;
}

export class ReplyHandler {
  private reconciled = false;
  private sentInventory: RuntimeRecord[] = [];

  constructor(private readonly deps: ReplyHandlerDeps) {}

  /** The records to send as the inventory of the beat being built (undefined: none this beat). */
  inventory(withInventory: boolean): RuntimeRecord[] | undefined {
    if (!withInventory) return undefined;
    this.sentInventory = this.deps.runtimes.records();
    return this.sentInventory;
  }

  handle(reply: HeartbeatReply, sent: HeartbeatRequest, receivedAt: number): void {
    const { serverTime, status, runtimes, log, reportFailed } = this.deps;
    serverTime.observe(reply.server_time, receivedAt);
    status.cordoned = reply.cordoned;
    status.controlPlaneDrain = reply.drain;
    if (sent.inventory && !this.reconciled) {
      this.reconciled = true;
      const plan = planRelease(this.sentInventory, reply.release, true);
      this.deps.inBackground(
        applyPlan(plan, { runtimes, log, reportFailed }).then((out) => {
          log.info({ adopted: out.adopted.length, released: out.destroyed.length, failed: out.failed.length, unrecorded_destroyed: this.deps.unrecordedDestroyed }, 'reconciled the runtimes found at start');
          status.moveTo('serving');
        }),
      );
    } else if (sent.inventory && reply.release?.length) {
      this.deps.inBackground(applyPlan(planRelease(this.sentInventory, reply.release, false), { runtimes, log, reportFailed }));
    }
    const serverNow = serverTime.now();
    if (serverNow !== undefined) this.deps.inBackground(this.deps.state.pruneHighWater(serverNow - HIGH_WATER_RETENTION_MS));
  }
}
