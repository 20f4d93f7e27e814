/**
 * Drives one task's heartbeats from a timer: the handler's own promise chain is never involved, so a
 * handler awaiting something slow (a child process, a download, a long sleep) cannot delay a
 * heartbeat. Every decision is `planHeartbeat(state, now)`; this file only performs it.
 */
import { serverToLocal } from './server-time.js';
import type { Clock } from '../../domain/clock.js';
import { classifyFailure } from './errors.js';
import {
  initialHeartbeatState,
  markAcked,
  markFailed,
  markFinishing,
  markRefused,
  markSent,
  planHeartbeat,
  withProgress,
  type HeartbeatBounds,
  type HeartbeatPlan,
} from './heartbeat-plan.js';
import type { TaskProtocol } from './protocol-client.js';
import { timeoutSignal, type TimerHandle, type Timers } from './timers.js';
import type { TaskWorkerLogger } from './types.js';

export interface HeartbeaterOptions {
  protocol: TaskProtocol;
  clock: Clock;
  timers: Timers;
  log: TaskWorkerLogger;
  bounds: HeartbeatBounds;
  taskId: string;
  generation: number;
  /** The lease's expiry as granted (ms since the epoch). */
  leaseExpiresAt: number;
  /** The control plane asked the handler to stop (cancel requested or deadline passed). */
  onCancel(): void;
  /** The lease is gone: a 409/404 answer, or its expiry passed without a successful heartbeat. */
  onLeaseLost(): void;
}

export interface Heartbeater {
  /** Queue a progress value for the next heartbeat (replacing an unsent one). */
  progress(value: unknown): void;
  /**
   * The handler settled: wait for a heartbeat in flight, send the last unsent progress, stop. Answers
   * `lease_lost` if the lease was lost by then, in which case nothing may be reported.
   */
  finish(): Promise<'ok' | 'lease_lost'>;
  /** Stop at once, without a final heartbeat; a request in flight is left to settle and ignored. */
  stop(): void;
  /** The lease's expiry as last granted. */
  leaseExpiresAt(): number;
}

export function startHeartbeater(o: HeartbeaterOptions): Heartbeater {
  let state = initialHeartbeatState(o.leaseExpiresAt, o.clock.now(), o.bounds);
  let timer: TimerHandle | undefined;
  let ended: 'ok' | 'lease_lost' | undefined;
  const finished: Array<(r: 'ok' | 'lease_lost') => void> = [];

  const end = (result: 'ok' | 'lease_lost') => {
    if (ended) return;
    ended = result;
    clearTimer();
    if (result === 'lease_lost') o.onLeaseLost();
    for (const resolve of finished.splice(0)) resolve(result);
  };
  const clearTimer = () => {
    if (timer !== undefined) o.timers.clearTimeout(timer);
    timer = undefined;
  };

  const pump = () => {
    if (ended) return;
    clearTimer();
    const plan = planHeartbeat(state, o.clock.now());
    switch (plan.action) {
      case 'lease_lost':
        return end('lease_lost');
      case 'done':
        return end('ok');
      case 'sleep':
        timer = o.timers.setTimeout(pump, plan.at - o.clock.now());
        return;
      case 'send':
        void send(plan);
        return;
    }
  };

  const send = async (plan: Extract<HeartbeatPlan, { action: 'send' }>) => {
    state = markSent(state, o.clock.now());
    // Re-plan at the lease's expiry even while waiting for the reply: lease loss must not wait for it.
    timer = o.timers.setTimeout(pump, state.leaseExpiresAt - o.clock.now());
    const t = timeoutSignal(o.timers, plan.timeoutMs);
    try {
      const body = plan.progress ? { generation: o.generation, progress: plan.progress.value } : { generation: o.generation };
      const reply = await o.protocol.heartbeat(o.taskId, body, t.signal);
      if (ended) return;
      const now = o.clock.now();
      // The new expiry in this worker's clock, by the server's own "now" in the same reply.
      state = markAcked(state, serverToLocal(reply.server_time, now)(Date.parse(reply.lease_expires_at)), now, o.bounds);
      // A cancel that arrives after the handler finished is moot: its result wins (it finished first).
      if (reply.cancel && !state.finishing) o.onCancel();
    } catch (err) {
      if (ended) return;
      const failure = classifyFailure(err);
      if (failure === 'lease_lost') return end('lease_lost');
      if (failure === 'refused') {
        state = markRefused(state);
        o.log.error('task heartbeat refused; its progress value is dropped', { task_id: o.taskId, error: (err as Error).message });
      } else {
        state = markFailed(state);
        o.log.warn('task heartbeat failed; retrying while the lease lasts', { task_id: o.taskId, failures: state.failures, error: (err as Error).message });
      }
    } finally {
      t.clear();
    }
    pump();
  };

  pump();
  return {
    progress(value) {
      if (!ended) state = withProgress(state, value);
    },
    finish() {
      if (ended) return Promise.resolve(ended);
      state = markFinishing(state);
      const done = new Promise<'ok' | 'lease_lost'>((resolve) => finished.push(resolve));
      if (!state.inFlight) pump();
      return done;
    },
    stop() {
      if (!ended) {
        ended = 'ok';
        clearTimer();
        for (const resolve of finished.splice(0)) resolve('ok');
      }
    },
    leaseExpiresAt: () => state.leaseExpiresAt,
  };
}
