/**
 * Every background loop of a control-plane replica, started together and stopped by one signal.
 */
import type { ControlPlane } from '../deps.js';
import { startLeaderLoop } from './leader.js';

export function startBackgroundLoops(cp: ControlPlane, signal: AbortSignal): Promise<void> {
  const { done: leader } = startLeaderLoop(cp, signal);
  return Promise.all([leader]).then(() => undefined);
}
