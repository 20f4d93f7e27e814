/** A typed event emitter that cannot throw into the loop that emits (house style: typed events). */
import type { TaskWorkerEvents, TaskWorkerLogger } from './types.js';

type Listener<E extends keyof TaskWorkerEvents> = (payload: TaskWorkerEvents[E]) => void;

export interface Emitter {
  on<E extends keyof TaskWorkerEvents>(event: E, listener: Listener<E>): () => void;
  emit<E extends keyof TaskWorkerEvents>(event: E, payload: TaskWorkerEvents[E]): void;
}

export function createEmitter(log: TaskWorkerLogger): Emitter {
  const listeners = new Map<keyof TaskWorkerEvents, Set<Listener<never>>>();
  return {
    on(event, listener) {
      let set = listeners.get(event);
      if (!set) listeners.set(event, (set = new Set()));
      set.add(listener as Listener<never>);
      return () => void set.delete(listener as Listener<never>);
    },
    emit(event, payload) {
      for (const listener of listeners.get(event) ?? []) {
        try {
          (listener as Listener<typeof event>)(payload);
        } catch (err) {
          log.error('a task worker event listener threw', { event, error: (err as Error).message });
        }
      }
    },
  };
}
