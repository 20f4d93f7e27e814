/**
 * 06-quality.md fault item 8, at the runtime layer: 30,000 numbered lines plus a single 8 KiB and a
 * single 1 MiB line from a real process; readers drop and reattach by sequence number at random points
 * (sometimes further back than where they were) while it runs, and one replays after it exited. Every
 * reader must reconstruct exactly the process's output — no gaps, no duplicates, frames numbered
 * consecutively within each attachment — and see the exit frame last, only once the process exited.
 * Frames go through the NDJSON wire shape (JSON, base64) as a remote client would see them.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ProcessRegistry as Registry } from '../../../src/worker/runtime/processes.js';
import { ProcessRegistry } from '../../../src/worker/runtime/processes.js';
import type { WireFrame } from '../../../src/worker/runtime/frames.js';
import { toWireFrame } from '../../../src/worker/runtime/frames.js';
import type { TestRuntime } from './support/runtime.js';
import { startRuntime } from './support/runtime.js';

const SCRIPT = `
i=1
while [ $i -le 15000 ]; do echo "line $i"; i=$((i+1)); done
head -c 8192 /dev/zero | tr '\\0' x; echo
while [ $i -le 30000 ]; do echo "line $i"; i=$((i+1)); done
head -c 1048576 /dev/zero | tr '\\0' y; echo
echo end
touch finished.marker
`;

function expectedOutput(): Buffer {
  const parts: string[] = [];
  for (let i = 1; i <= 15000; i++) parts.push(`line ${i}\n`);
  parts.push(`${'x'.repeat(8192)}\n`);
  for (let i = 15001; i <= 30000; i++) parts.push(`line ${i}\n`);
  parts.push(`${'y'.repeat(1048576)}\n`, 'end\n');
  return Buffer.from(parts.join(''));
}

/** A small seeded PRNG (mulberry32), so a failure can be replayed from the printed seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface ReaderResult {
  output: Buffer;
  attachments: number;
  exitSeq: number;
}

/** Reads with random drops and reattachments until the exit frame; checks invariants as it goes. */
async function flakyReader(
  registry: Registry,
  id: string,
  seed: number,
  markerPath: string,
): Promise<ReaderResult> {
  const random = prng(seed);
  const bySeq = new Map<number, Buffer>();
  let lastSeen = 0;
  let attachments = 0;
  for (;;) {
    attachments++;
    // Usually resume where we were; sometimes from a random earlier point (a client that lost state).
    const afterSeq = random() < 0.8 ? lastSeen : Math.floor(random() * (lastSeen + 1));
    const budget = 1 + Math.floor(random() * 10);
    let expected = afterSeq + 1;
    let taken = 0;
    for await (const frame of registry.read(id, { afterSeq, follow: true })) {
      const wire = JSON.parse(JSON.stringify(toWireFrame(frame))) as WireFrame;
      assert.ok(!('from' in wire), `seed ${seed}: unexpected gap frame ${JSON.stringify(wire)}`);
      assert.ok('seq' in wire);
      assert.equal(wire.seq, expected, `seed ${seed}: frames of one attachment are consecutive`);
      expected++;
      if ('type' in wire) {
        assert.equal(wire.exit_code, 0, `seed ${seed}: exit code`);
        assert.equal(registry.get(id).running, false, 'the exit frame comes only after the process exited');
        assert.ok(existsSync(markerPath), 'the process had finished its work');
        assert.equal(wire.seq, bySeq.size + 1, `seed ${seed}: the exit frame follows the last output frame`);
        const output = Buffer.concat([...bySeq.keys()].sort((a, b) => a - b).map((k) => bySeq.get(k)!));
        return { output, attachments, exitSeq: wire.seq };
      }
      assert.equal(wire.stream, 'stdout');
      const data = Buffer.from(wire.data, 'base64');
      const before = bySeq.get(wire.seq);
      if (before !== undefined) assert.deepEqual(data, before, `seed ${seed}: a replayed frame has the same bytes`);
      bySeq.set(wire.seq, data);
      lastSeen = Math.max(lastSeen, wire.seq);
      if (++taken >= budget) break; // drop the connection at a random point
    }
  }
}

describe('process output durability (fault item 8)', () => {
  let rt: TestRuntime;
  before(async () => {
    rt = await startRuntime();
  });
  after(() => rt.close());

  it('readers that drop and reattach at random points reconstruct the output exactly', async () => {
    const registry = new ProcessRegistry({ target: rt.target, clock: rt.clock });
    const marker = join(rt.handle.workspace, 'finished.marker');
    const started = await registry.start({ command: SCRIPT });
    const baseSeed = Math.floor(Math.random() * 2 ** 31);
    const readers = [0, 1, 2, 3].map((i) => flakyReader(registry, started.id, baseSeed + i, marker));
    const results = await Promise.all(readers);
    const expected = expectedOutput();
    for (const result of results) {
      assert.equal(result.output.length, expected.length, `seed ${baseSeed}: reconstructed length`);
      assert.ok(result.output.equals(expected), `seed ${baseSeed}: reconstructed bytes`);
      assert.ok(result.attachments > 1, 'the reader did drop and reattach');
    }
    // After the exit, a fresh reader replays everything from the start, and the exit frame last.
    const late = await flakyReader(registry, started.id, baseSeed + 99, marker);
    assert.ok(late.output.equals(expected));
    assert.equal(late.exitSeq, results[0]!.exitSeq);
    const status = registry.get(started.id);
    assert.equal(status.running, false);
    assert.equal(status.exitCode, 0);
    assert.equal(status.firstSeq, 1, 'the default ring held the whole output');
    assert.ok(status.lastSeq > 20, `enough frames for random drop points (${status.lastSeq})`);
  });
});
