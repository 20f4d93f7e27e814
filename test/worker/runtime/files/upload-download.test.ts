/**
 * 06-quality.md fault item 9 at the runtime layer: binary round trips byte for byte with sha256
 * checked (0 B … 100 MiB, streamed, never held in memory), and interrupted uploads — by a failing
 * source, a destroyed stream, a short body, a size limit, an abort, and a real HTTP client hanging up —
 * leave neither a partial file at the target nor a temp file behind.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { request, createServer } from 'node:http';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { BadRequest, DroverError, NotFound } from '../../../../src/domain/errors.js';
import { RangeNotSatisfiable } from '../../../../src/worker/runtime/files/fs-errors.js';
import type { FileFixture } from '../support/files.js';
import { fileFixture, generated, leftovers, sha256Of } from '../support/files.js';

describe('upload and download', () => {
  let fx: FileFixture;
  before(async () => {
    fx = await fileFixture();
  });
  after(() => fx.close());

  for (const [label, size] of [
    ['0 B', 0],
    ['1 B', 1],
    ['64 KiB', 64 * 1024],
    ['100 MiB', 100 * 1024 * 1024],
  ] as const) {
    it(`round-trips ${label} byte for byte with a matching sha256`, async () => {
      const sent = createHash('sha256');
      const path = `/workspace/round/${label.replace(' ', '')}.bin`;
      const result = await fx.files.upload(path, generated(size, label, sent, 256 * 1024 + 7));
      const sentSha = sent.digest('hex');
      assert.deepEqual(result, { path, size, sha256: sentSha });
      // What is on disk, read independently of our code...
      const onDisk = await sha256Of(createReadStream(join(fx.workspace, 'round', `${label.replace(' ', '')}.bin`)));
      assert.deepEqual(onDisk, { sha256: sentSha, size });
      // ...and what a download streams back.
      const download = await fx.files.download(path);
      assert.equal(download.size, size);
      assert.equal(download.length, size);
      assert.deepEqual(await sha256Of(download.stream), { sha256: sentSha, size });
      assert.deepEqual(leftovers(join(fx.workspace, 'round')), []);
    });
  }

  it('serves byte ranges', async () => {
    const bytes = Buffer.from('0123456789');
    await fx.files.upload('range.txt', Readable.from([bytes]));
    const read = async (range: Parameters<typeof fx.files.download>[1]) => {
      const d = await fx.files.download('range.txt', range);
      const body = Buffer.concat(await Readable.from(d.stream).toArray());
      return { start: d.start, end: d.end, length: d.length, size: d.size, body: body.toString() };
    };
    assert.deepEqual(await read({ start: 2, end: 4 }), { start: 2, end: 4, length: 3, size: 10, body: '234' });
    assert.deepEqual(await read({ start: 7 }), { start: 7, end: 9, length: 3, size: 10, body: '789' });
    assert.deepEqual(await read({ start: 8, end: 100 }), { start: 8, end: 9, length: 2, size: 10, body: '89' });
    assert.deepEqual(await read({ suffix: 4 }), { start: 6, end: 9, length: 4, size: 10, body: '6789' });
    await assert.rejects(fx.files.download('range.txt', { start: 10 }), RangeNotSatisfiable);
    await assert.rejects(fx.files.download('range.txt', { start: 5, end: 4 }), RangeNotSatisfiable);
    await assert.rejects(fx.files.download('range.txt', { start: -1 }), RangeNotSatisfiable);
  });

  it('creates missing parent directories, sets the mode, and keeps the old mode when none is given', async () => {
    const first = await fx.files.upload('deep/er/run.sh', Readable.from([Buffer.from('#!/bin/sh\n')]), { mode: 0o755 });
    assert.equal(first.path, '/workspace/deep/er/run.sh');
    assert.equal(statSync(join(fx.workspace, 'deep/er/run.sh')).mode & 0o777, 0o755);
    await fx.files.upload('deep/er/run.sh', Readable.from([Buffer.from('#!/bin/sh\necho 2\n')]));
    assert.equal(statSync(join(fx.workspace, 'deep/er/run.sh')).mode & 0o777, 0o755);
    await fx.files.upload('plain.txt', Readable.from([Buffer.from('x')]));
    assert.equal(statSync(join(fx.workspace, 'plain.txt')).mode & 0o777, 0o644);
    await assert.rejects(fx.files.upload('setuid', Readable.from([Buffer.from('x')]), { mode: 0o4755 }), BadRequest);
  });

  it('refuses to download a directory or a missing file, and to upload over a directory', async () => {
    await fx.files.mkdir('a-dir');
    await assert.rejects(fx.files.download('a-dir'), BadRequest);
    await assert.rejects(fx.files.download('/workspace'), BadRequest);
    await assert.rejects(fx.files.download('missing.bin'), NotFound);
    await assert.rejects(fx.files.upload('a-dir', Readable.from([Buffer.from('x')])), BadRequest);
    await assert.rejects(fx.files.upload('/workspace', Readable.from([Buffer.from('x')])), BadRequest);
  });

  describe('interrupted uploads leave no partial file', () => {
    const target = () => join(fx.workspace, 'interrupted.bin');

    async function* failing(): AsyncGenerator<Buffer> {
      yield* generated(3 * 1024 * 1024, 'failing');
      throw new Error('connection reset by peer');
    }

    it('a source that fails mid-way', async () => {
      await assert.rejects(fx.files.upload('interrupted.bin', failing()), /connection reset/);
      assert.equal(existsSync(target()), false);
      assert.deepEqual(leftovers(fx.workspace), []);
    });

    it('a stream destroyed mid-way (no error)', async () => {
      let sent = 0;
      const source = new Readable({
        read() {
          if (sent >= 4) {
            this.destroy();
            return;
          }
          sent++;
          this.push(Buffer.alloc(512 * 1024, sent));
        },
      });
      await assert.rejects(fx.files.upload('interrupted.bin', source));
      assert.equal(existsSync(target()), false);
      assert.deepEqual(leftovers(fx.workspace), []);
    });

    it('a body shorter than announced', async () => {
      await assert.rejects(
        fx.files.upload('interrupted.bin', generated(1000, 'short'), { expectedBytes: 2000 }),
        BadRequest,
      );
      assert.equal(existsSync(target()), false);
      assert.deepEqual(leftovers(fx.workspace), []);
    });

    it('a body over the size limit', async () => {
      await assert.rejects(
        fx.files.upload('interrupted.bin', generated(5000, 'big'), { maxBytes: 4096 }),
        (err: unknown) => err instanceof DroverError && err.code === 'payload_too_large',
      );
      assert.equal(existsSync(target()), false);
      assert.deepEqual(leftovers(fx.workspace), []);
    });

    it('an abort signal, and the previous file survives a failed overwrite', async () => {
      writeFileSync(target(), 'previous version');
      const controller = new AbortController();
      async function* slow(): AsyncGenerator<Buffer> {
        yield Buffer.alloc(1024, 1);
        controller.abort();
        yield Buffer.alloc(1024, 2);
      }
      await assert.rejects(fx.files.upload('interrupted.bin', slow(), { signal: controller.signal }));
      assert.equal(readFileSync(target(), 'utf8'), 'previous version');
      assert.deepEqual(leftovers(fx.workspace), []);
    });

    it('an HTTP client that hangs up mid-body', async () => {
      const outcome = new Promise<unknown>((resolve) => {
        const server = createServer((req, res) => {
          fx.files
            .upload('http.bin', req, { expectedBytes: Number(req.headers['content-length']) })
            .then(
              (ok) => resolve(ok),
              (err: unknown) => resolve(err),
            )
            .finally(() => {
              res.destroy();
              server.close();
            });
        });
        server.listen(0, '127.0.0.1', () => {
          const { port } = server.address() as AddressInfo;
          const req = request({ port, host: '127.0.0.1', method: 'PUT', headers: { 'content-length': String(8 * 1024 * 1024) } });
          req.on('error', () => undefined);
          req.write(Buffer.alloc(1024 * 1024, 7), () => setTimeout(() => req.destroy(), 50));
        });
      });
      const result = await outcome;
      assert.ok(result instanceof Error, `the upload failed (got ${JSON.stringify(result)})`);
      assert.equal(existsSync(join(fx.workspace, 'http.bin')), false);
      assert.deepEqual(leftovers(fx.workspace), []);
    });
  });
});
