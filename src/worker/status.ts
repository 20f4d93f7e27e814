/**
 * The daemon's own lifecycle, and the control plane's flags as the last heartbeat reply gave them.
 *
 *   reconciling ──first heartbeat reply, leftovers adopted or killed──▶ serving
 *        │                                                                │
 *        └──────────────SIGTERM / SIGINT / worker.shutdown────────────────┴──▶ draining ──▶ stopping ──▶ stopped
 *
 * - reconciling: the RPC server listens (the control plane needs the rpc secret from the first
 *   heartbeat before it can call), but leased calls wait until the leftovers are sorted: "reconcile
 *   before serving" — a spawn must never race the adoption or destruction of an older runtime.
 * - draining: the heartbeat says `draining`, spawns are refused with `draining`, the rest works.
 * - stopping: runtimes are being destroyed and the listeners closed.
 *
 * Separately, a drain the control plane started (`drain` in the reply) also refuses spawns, and
 * `cordoned` is only recorded: it stops placements, not running work.
 */
export type WorkerPhase = 'reconciling' | 'serving' | 'draining' | 'stopping' | 'stopped';

const EDGES: Record<WorkerPhase, readonly WorkerPhase[]> = {
  reconciling: ['serving', 'draining', 'stopping'],
  serving: ['draining', 'stopping'],
  draining: ['stopping'],
  stopping: ['stopped'],
  stopped: [],
};

export class WorkerStatus {
  private current: WorkerPhase = 'reconciling';
  cordoned = false;
  /** Present while the control plane has this worker draining. */
  controlPlaneDrain: { deadline: string | null } | undefined;
  readonly ready: Promise<void>;
  private resolveReady: () => void = () => undefined;

  constructor() {
    this.ready = new Promise((resolve) => (this.resolveReady = resolve));
  }

  get phase(): WorkerPhase {
    return this.current;
  }

  /** Moves along an edge of the diagram; false (and no change) when the move is not one. */
  moveTo(next: WorkerPhase): boolean {
    if (!EDGES[this.current].includes(next)) return false;
    this.current = next;
    // Anything waiting for readiness must wake up: a draining or stopping worker answers it now.
    if (next !== 'reconciling') this.resolveReady();
    return true;
  }

  /** What the heartbeat reports. */
  get reported(): 'online' | 'draining' {
    return this.current === 'reconciling' || this.current === 'serving' ? 'online' : 'draining';
  }

  /** Why a new spawn is refused (with the `draining` code), or undefined when spawns are accepted. */
  spawnRefusal(): string | undefined {
    if (this.current === 'draining' || this.current === 'stopping' || this.current === 'stopped') return `the worker is ${this.current}`;
    if (this.controlPlaneDrain) return 'the control plane is draining this worker';
    return undefined;
  }
}
