/**
 * The durable StateStore: one JSON file, `<dataDir>/state/worker-state.json`, rewritten whole after
 * each change — written to a temporary file, fsynced, renamed over the old one, and the directory
 * fsynced — so a crash or power loss leaves either the old or the new state, never a torn one. A
 * worker holds at most a few hundred runtimes and marks are pruned, so whole-file writes stay small.
 *
 * Concurrent changes coalesce: while one write is in progress, later changes wait and go out together
 * in the next write, and each change's promise resolves only once a write containing it is on disk.
 *
 * A file that exists but cannot be parsed stops the worker from starting (with the path in the
 * message) rather than being silently replaced: starting empty would forget the high-water marks the
 * file exists to keep.
 */
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { PROVIDER_NAMES } from '../../config/index.js';
import { MemoryStateStore, type StateSnapshot } from './memory.js';

const FILE = 'worker-state.json';
const VERSION = 1;

const recordSchema = z.object({
  sandboxId: z.string().min(1),
  runtimeId: z.string().min(1),
  generation: z.number().int().positive(),
  provider: z.enum(PROVIDER_NAMES),
  tenantId: z.string(),
  state: z.enum(['starting', 'running', 'stopping']),
  request: z.object({
    resources: z.object({ cpuMilli: z.number(), memoryMb: z.number(), diskMb: z.number(), pids: z.number().optional() }),
    env: z.record(z.string(), z.string()),
    network: z.enum(['none', 'host']),
  }),
  capabilities: z.array(z.string()),
  warnings: z.array(z.string()),
  leaseTtlMs: z.number().int().positive(),
  createdAt: z.number(),
});

const fileSchema = z.object({
  version: z.literal(VERSION),
  runtimes: z.array(recordSchema),
  high_water: z.record(z.string(), z.object({ generation: z.number().int().nonnegative(), expiresAt: z.number() })),
});

export class StateFileError extends Error {
  override name = 'StateFileError';
}

export class JsonFileStateStore extends MemoryStateStore {
  private version = 0;
  private written = 0;
  private writing: Promise<void> | undefined;

  private constructor(
    private readonly dir: string,
    initial: StateSnapshot,
  ) {
    super(initial);
  }

  /** Open (or create) the state under `dir`. */
  static async open(dir: string): Promise<JsonFileStateStore> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const path = join(dir, FILE);
    let text: string | undefined;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new StateFileError(`cannot read the worker state ${path}: ${(err as Error).message}`);
    }
    if (text === undefined) return new JsonFileStateStore(dir, { runtimes: [], highWater: {} });
    let parsed: z.infer<typeof fileSchema>;
    try {
      parsed = fileSchema.parse(JSON.parse(text));
    } catch {
      throw new StateFileError(
        `the worker state ${path} is unreadable; it holds the lease generations this worker must keep refusing. ` +
          'Move it aside only if no sandbox of this worker can still be running (the worker then starts empty).',
      );
    }
    return new JsonFileStateStore(dir, { runtimes: parsed.runtimes, highWater: parsed.high_water });
  }

  protected override async changed(): Promise<void> {
    const wanted = ++this.version;
    while (this.written < wanted) {
      if (this.writing) {
        // Someone else's write is on its way; it may or may not hold this change. Check again after it.
        await this.writing.catch(() => undefined);
        continue;
      }
      const covers = this.version;
      const write = this.write().then(() => {
        this.written = Math.max(this.written, covers);
      });
      this.writing = write.finally(() => {
        this.writing = undefined;
      });
      await write;
    }
  }

  override async close(): Promise<void> {
    await this.writing?.catch(() => undefined);
  }

  private async write(): Promise<void> {
    const snap = this.snapshot();
    const body = `${JSON.stringify({ version: VERSION, runtimes: snap.runtimes, high_water: snap.highWater })}\n`;
    const tmp = join(this.dir, `.${FILE}.${process.pid}.tmp`);
    const file = await open(tmp, 'w', 0o600);
    try {
      await file.writeFile(body);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(tmp, join(this.dir, FILE));
    // The rename itself must survive a power loss, or the old state comes back.
    const dir = await open(this.dir, 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }
}
