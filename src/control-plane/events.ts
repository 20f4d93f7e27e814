/**
 * The event bus: every event is appended to the persisted event log (so SSE clients on any replica can
 * resume from a sequence number) and announced to in-process listeners (SSE streams, long polls), which
 * re-read the log. A listener that throws is logged and never breaks the code that emitted.
 */
import type { Logger } from 'pino';
import type { Store } from '../store/store.js';
import type { EventInput, EventRecord } from '../store/types.js';

export type EventListener = (event: EventRecord) => void;

export interface EventBus {
  emit(event: EventInput): Promise<EventRecord | undefined>;
  subscribe(listener: EventListener): () => void;
}

export function createEventBus(store: Store, log: Logger): EventBus {
  const listeners = new Set<EventListener>();
  return {
    async emit(event) {
      let record: EventRecord;
      try {
        record = await store.events.appendEvent(event);
      } catch (err) {
        // Losing an event must not fail the operation it describes; the state change already happened.
        log.warn({ err: String(err), type: event.type }, 'event not persisted');
        return undefined;
      }
      for (const listener of listeners) {
        try {
          listener(record);
        } catch (err) {
          log.error({ err: String(err), type: event.type }, 'event listener threw');
        }
      }
      return record;
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
