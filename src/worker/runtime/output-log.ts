/**
 * A background process's output: sequence-numbered chunks (frames.ts) in a bounded in-memory ring,
 * then the exit. Readers replay from a sequence number and follow live output (02-api.md
 * `GET .../processes/{pid}/output?after_seq=&follow=`; 06-quality.md fault item 8).
 *
 * Guarantees to every reader: frames in sequence order, each at most once; nothing retained is
 * skipped; what is no longer retained is announced by an explicit gap frame `{from, to}` (at the start
 * when `afterSeq` is older than the ring, or mid-stream when the reader fell behind by more than the
 * ring) — never a silent gap; the exit frame comes last, only once the process exited, after every
 * output frame. Appending never waits for readers: a slow reader cannot block the process, it only
 * risks a gap. Any number of readers may follow the same log.
 *
 * Size: `capacityBytes` (default 8 MiB) counts chunk bytes plus a fixed per-chunk overhead; the
 * oldest chunks are dropped first. Chunks are split at 64 KiB so a single huge write is still dropped
 * piecewise rather than all at once.
 */
import { BadRequest } from '../../domain/errors.js';
import type { ExitInfo } from '../providers/types.js';
import { Fifo } from './fifo.js';
import type { DataFrame, ExitFrame, OutputFrame, OutputStream } from './frames.js';
import { MAX_FRAME_BYTES } from './frames.js';

export const DEFAULT_RING_BYTES = 8 * 1024 * 1024;
const CHUNK_OVERHEAD = 64;

export interface ReadOptions {
  /** Replay frames after this sequence number (0 = from the start). */
  afterSeq?: number | undefined;
  /** Keep following live output until the exit frame (default: stop at what is there now). */
  follow?: boolean | undefined;
  /** Ends the read (the reader went away). */
  signal?: AbortSignal | undefined;
}

export class OutputLog {
  private readonly chunks = new Fifo<DataFrame>();
  private bytes = 0;
  private last = 0;
  private exit: ExitFrame | undefined;
  private waiters = new Set<() => void>();

  constructor(private readonly capacityBytes: number = DEFAULT_RING_BYTES) {
    if (!(capacityBytes > 0)) throw new Error('output ring capacity must be positive');
  }

  /** Sequence number of the last output chunk (0 before any output). */
  get lastSeq(): number {
    return this.last;
  }

  /** Sequence number of the oldest retained chunk (lastSeq + 1 when none is retained). */
  get firstSeq(): number {
    return this.chunks.at(0)?.seq ?? this.last + 1;
  }

  get exitFrame(): ExitFrame | undefined {
    return this.exit;
  }

  append(stream: OutputStream, chunk: Buffer): void {
    if (this.exit !== undefined || chunk.length === 0) return;
    for (let offset = 0; offset < chunk.length; offset += MAX_FRAME_BYTES) {
      const data = chunk.subarray(offset, offset + MAX_FRAME_BYTES);
      this.chunks.push({ kind: 'data', seq: ++this.last, stream, data });
      this.bytes += data.length + CHUNK_OVERHEAD;
    }
    while (this.bytes > this.capacityBytes && this.chunks.length > 1) {
      const dropped = this.chunks.shift()!;
      this.bytes -= dropped.data.length + CHUNK_OVERHEAD;
    }
    this.notify();
  }

  finish(exit: ExitInfo, timedOut = false): void {
    if (this.exit !== undefined) return;
    this.exit = { kind: 'exit', seq: this.last + 1, exitCode: exit.exitCode, signal: exit.signal, timedOut };
    this.notify();
  }

  /**
   * Frames after `afterSeq`. Validated now (a bad sequence number is a 400 before any byte is sent),
   * read lazily.
   */
  read(options: ReadOptions = {}): AsyncIterable<OutputFrame> {
    const afterSeq = options.afterSeq ?? 0;
    if (!Number.isInteger(afterSeq) || afterSeq < 0) throw new BadRequest('after_seq must be a non-negative integer');
    const end = this.exit?.seq ?? this.last;
    if (afterSeq > end) {
      throw new BadRequest(`after_seq ${afterSeq} is beyond the last sequence number ${end}`, { last_seq: end });
    }
    return { [Symbol.asyncIterator]: () => this.frames(afterSeq, options.follow === true, options.signal) };
  }

  private async *frames(afterSeq: number, follow: boolean, signal: AbortSignal | undefined): AsyncGenerator<OutputFrame> {
    let cursor = afterSeq;
    for (;;) {
      if (signal?.aborted) return;
      // Re-evaluated after every yield: the ring may have moved on while the reader was away.
      const first = this.firstSeq;
      if (cursor + 1 < first) {
        yield { kind: 'gap', from: cursor + 1, to: first - 1 };
        cursor = first - 1;
        continue;
      }
      if (cursor < this.last) {
        const frame = this.chunks.at(cursor + 1 - first)!;
        cursor = frame.seq;
        yield frame;
        continue;
      }
      if (this.exit !== undefined) {
        if (cursor < this.exit.seq) yield this.exit;
        return;
      }
      if (!follow) return;
      await this.changed(signal);
    }
  }

  /** Resolves on the next append or exit, or when `signal` aborts. */
  private changed(signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        this.waiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      this.waiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = new Set();
    for (const wake of waiters) wake();
  }
}
