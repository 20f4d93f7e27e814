import { defineMachine } from './machine.js';

/**
 * Sandbox lifecycle (01-architecture.md):
 *
 *   pending ──placed──▶ starting ──ready──▶ running ──stop──▶ stopping ──▶ stopped
 *      │                  │                  │  ▲
 *      │                  └──────┬───────────┘  │ woken by a request
 *      │                         ▼           idle (service evicted, files kept)
 *      └────────────────────▶ failed
 *   running | idle ──worker lost──▶ lost ──▶ pending (restart_on_worker_loss) | failed
 *   any non-terminal ──TTL──▶ expired
 *
 * Terminal: stopped, failed, expired.
 */
export type SandboxState = 'pending' | 'starting' | 'running' | 'idle' | 'stopping' | 'stopped' | 'failed' | 'lost' | 'expired';

export const SANDBOX_STATES: readonly SandboxState[] = ['pending', 'starting', 'running', 'idle', 'stopping', 'stopped', 'failed', 'lost', 'expired'];

const NON_TERMINAL: SandboxState[] = ['pending', 'starting', 'running', 'idle', 'stopping', 'lost'];

export const sandboxMachine = defineMachine<SandboxState>('sandbox', SANDBOX_STATES, ['stopped', 'failed', 'expired'], [
  ['pending', 'starting'],
  ['pending', 'failed'],
  ['pending', 'stopped'],
  ['starting', 'running'],
  ['starting', 'failed'],
  ['starting', 'stopping'],
  ['starting', 'lost'],
  ['running', 'stopping'],
  ['running', 'failed'],
  ['running', 'idle'],
  ['running', 'lost'],
  ['idle', 'starting'],
  ['idle', 'stopping'],
  ['idle', 'lost'],
  ['stopping', 'stopped'],
  ['stopping', 'failed'],
  ['lost', 'pending'],
  ['lost', 'failed'],
  ['lost', 'stopped'],
  ...NON_TERMINAL.map((s) => [s, 'expired'] as const),
]);

/** States in which the sandbox holds capacity on its worker (a reservation made at placement). */
export const HOLDS_CAPACITY: readonly SandboxState[] = ['starting', 'running', 'idle', 'stopping'];
