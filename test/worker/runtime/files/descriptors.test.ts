/**
 * File operations hold directory and file descriptors (dir.ts); every path — success, error, a stream
 * consumed, a stream destroyed before or during reading, an extraction that stops early — must give
 * them all back. Counted in /proc/self/fd, so a leak fails here instead of surfacing as EMFILE on a
 * busy worker.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FileFixture } from '../support/files.js';
import { fileFixture } from '../support/files.js';
import { chunked, tarOf } from '../support/tar.js';

const openDescriptors = (): number => readdirSync('/proc/self/fd').length;

describe('descriptor hygiene', { skip: existsSync('/proc/self/fd') ? false : 'needs /proc' }, () => {
  let fx: FileFixture;
  before(async () => {
    fx = await fileFixture();
    mkdirSync(join(fx.workspace, 'tree/a/b'), { recursive: true });
    for (let i = 0; i < 5; i++) writeFileSync(join(fx.workspace, `tree/a/b/f${i}`), Buffer.alloc(100_000, i));
  });
  after(() => fx.close());

  it('gives back every descriptor, whatever happens to the streams', async () => {
    const scenarios: Array<() => Promise<unknown>> = [
      async () => (await fx.files.download('tree/a/b/f1')).stream.toArray(),
      async () => (await fx.files.download('tree/a/b/f1')).stream.destroy(),
      async () => {
        const { stream } = await fx.files.download('tree/a/b/f1');
        for await (const _chunk of stream) break;
      },
      async () => (await fx.files.archiveOut('tree')).stream.toArray(),
      async () => (await fx.files.archiveOut('tree')).stream.destroy(),
      async () => {
        const { stream } = await fx.files.archiveOut('tree');
        for await (const _chunk of stream) break;
      },
      async () => fx.files.archiveIn('copy', (await fx.files.archiveOut('tree')).stream),
      async () => fx.files.archiveIn('copy2', (await fx.files.archiveOut('tree')).stream, { maxEntries: 2 }).catch(() => undefined),
      async () => fx.files.archiveIn('bad', chunked(tarOf([{ name: '../x', type: 'file', content: 'x' }]))).catch(() => undefined),
      () => fx.files.list('tree', { recursive: true }),
      () => fx.files.glob('**/f*'),
      () => fx.files.stat('tree/missing').catch(() => undefined),
      () => fx.files.upload('tree/new/up.bin', chunked(Buffer.alloc(300_000))),
      () => fx.files.chmod('tree/new/up.bin', 0o600),
      () => fx.files.move('tree/new/up.bin', 'tree/new/moved.bin'),
      () => fx.files.delete('copy', { recursive: true }),
    ];
    for (const run of scenarios) await run(); // warm up lazily opened handles (none expected)
    await new Promise((resolve) => setTimeout(resolve, 20));
    const baseline = openDescriptors();
    for (let round = 0; round < 3; round++) {
      for (const run of scenarios) await run();
    }
    await new Promise((resolve) => setTimeout(resolve, 20)); // let destroyed streams finish closing
    assert.equal(openDescriptors(), baseline);
  });
});
