/** The inputs of the pure placement decision: an immutable view of the fleet and what is asked for. */
import type { Resources, WorkerRecord } from '../../store/types.js';

/** What placement reads of a worker; a WorkerRecord is one. */
export type WorkerView = Pick<WorkerRecord, 'id' | 'status' | 'cordoned' | 'providers' | 'labels' | 'capacity' | 'allocated' | 'lastHeartbeatAt'>;

export interface PlacementSnapshot {
  readonly workers: readonly WorkerView[];
  /** This replica's clock, for heartbeat freshness. */
  readonly now: number;
  readonly staleAfterMs: number;
  /** Silence is measured from no earlier than this (the replica's start). */
  readonly notBefore?: number;
}

/** cpu in millicores, memory and disk in MiB; every sandbox also takes one of `max_sandboxes`. */
export type Need = Omit<Resources, 'sandboxes'>;

export interface PlacementRequest {
  /** `auto` or a provider name. */
  readonly provider: string;
  readonly selector: Readonly<Record<string, string>>;
  readonly need: Need;
  readonly strategy: 'binpack' | 'spread';
  /** K of best-of-K: the choice is uniform among the K best-scored candidates. */
  readonly sample: number;
  /** Workers not to use (they turned this sandbox away moments ago). */
  readonly exclude?: ReadonlySet<string>;
}
