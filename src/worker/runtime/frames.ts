/**
 * Output frames, shared by streaming exec and process output. Internally a frame carries raw bytes
 * (a WebSocket attach sends them as binary frames as they are); `toWireFrame` gives the NDJSON shape
 * of 02-api.md: `{seq, stream, data (base64)}`, then `{seq, type: "exit", exit_code, signal}`, and
 * for process output `{type: "gap", from, to}` when a reader asked for sequence numbers the bounded
 * buffer no longer holds.
 *
 * Sequence numbers: one counter per process (or exec), shared by stdout and stderr, starting at 1;
 * each output chunk as the provider delivered it (split at 64 KiB) takes the next number; the exit
 * frame takes the number after the last chunk. So `after_seq = n` means "everything after frame n",
 * and `after_seq = 0` means "from the start".
 */
export type OutputStream = 'stdout' | 'stderr';

export interface DataFrame {
  kind: 'data';
  seq: number;
  stream: OutputStream;
  data: Buffer;
}

export interface ExitFrame {
  kind: 'exit';
  seq: number;
  exitCode: number | null;
  signal: string | null;
  /** Killed because its timeout_ms passed (exec only). */
  timedOut: boolean;
}

/** Frames `from`..`to` (inclusive) fell out of the buffer before this reader got them. */
export interface GapFrame {
  kind: 'gap';
  from: number;
  to: number;
}

export type ExecFrame = DataFrame | ExitFrame;
export type OutputFrame = DataFrame | ExitFrame | GapFrame;

export type WireFrame =
  | { seq: number; stream: OutputStream; data: string }
  | { seq: number; type: 'exit'; exit_code: number | null; signal: string | null; timed_out?: true }
  | { type: 'gap'; from: number; to: number };

export function toWireFrame(frame: OutputFrame): WireFrame {
  switch (frame.kind) {
    case 'data':
      return { seq: frame.seq, stream: frame.stream, data: frame.data.toString('base64') };
    case 'exit':
      return {
        seq: frame.seq,
        type: 'exit',
        exit_code: frame.exitCode,
        signal: frame.signal,
        ...(frame.timedOut ? { timed_out: true as const } : {}),
      };
    case 'gap':
      return { type: 'gap', from: frame.from, to: frame.to };
  }
}

/** Frames are split so one never carries more than this (bounded NDJSON lines and ring accounting). */
export const MAX_FRAME_BYTES = 64 * 1024;
