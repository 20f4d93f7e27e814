/**
 * The BlobStore contract: every driver runs exactly this (fs.test.ts, s3.test.ts). Whatever a caller
 * may rely on is asserted here, against real files and a real S3-compatible server.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { BlobStore } from '../../src/blob/types.js';
import { DroverError } from '../../src/domain/errors.js';
import type { BlobFixture, OpenedBlobStore } from './fixtures.js';
import { MiB, allByteValues, chunked, dying, pseudoRandom, readAll, sha256 } from './support/bytes.js';

const EMPTY_SHA = sha256(Buffer.alloc(0));

function isCode(code: string, extra?: (err: DroverError) => boolean) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof DroverError, `expected a DroverError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (extra) assert.ok(extra(err), `unexpected details: ${JSON.stringify(err.details)}`);
    return true;
  };
}

async function roundTrip(store: BlobStore, key: string, data: Buffer): Promise<void> {
  const put = await store.put(key, chunked(data));
  assert.deepEqual(put, { key, size: data.length, sha256: sha256(data) });
  const got = await store.get(key);
  assert.equal(got.size, data.length);
  assert.equal(got.contentLength, data.length);
  assert.equal(got.contentRange, undefined);
  const bytes = await readAll(got.body);
  assert.ok(bytes.equals(data), 'bytes read back differ from bytes written');
  const head = await store.head(key);
  assert.equal(head?.size, data.length);
}

export function blobContract(fixture: BlobFixture): void {
  describe(`BlobStore contract (${fixture.name})`, () => {
    let opened: OpenedBlobStore;
    let store: BlobStore;
    before(async () => {
      opened = await fixture.open();
      store = opened.store;
    });
    after(async () => opened.close());

    describe('put and get', () => {
      it('round-trips every byte value, byte for byte, with size and sha256', async () => {
        await roundTrip(store, 'rt/all-bytes.bin', allByteValues());
        assert.equal((await store.head('rt/all-bytes.bin'))?.sha256, sha256(allByteValues()));
      });

      it('round-trips an empty object and a one-byte object', async () => {
        await roundTrip(store, 'rt/empty', Buffer.alloc(0));
        assert.equal((await store.head('rt/empty'))?.sha256, EMPTY_SHA);
        await roundTrip(store, 'rt/one', Buffer.from([0x00]));
      });

      it('streams a body of a few MiB (the large-object path) and hashes it on the way', async () => {
        const data = pseudoRandom(fixture.largeBody + 1_234_567);
        await roundTrip(store, 'rt/large.bin', data);
        const head = await store.head('rt/large.bin');
        // Without an expected hash the s3 driver cannot attach one to a multipart upload; it may omit
        // the sha256 but must never report a wrong one.
        assert.ok(head?.sha256 === undefined || head.sha256 === sha256(data));
      });

      it('records the sha256 of a large body when it was given as expected', async () => {
        const data = pseudoRandom(fixture.largeBody + 10, 7);
        const put = await store.put('rt/large-checked.bin', chunked(data), { expectedSha256: sha256(data), expectedSize: data.length });
        assert.equal(put.sha256, sha256(data));
        assert.equal((await store.head('rt/large-checked.bin'))?.sha256, sha256(data));
        assert.ok((await readAll((await store.get('rt/large-checked.bin')).body)).equals(data));
      });

      it('keeps unusual but valid keys exactly (spaces, unicode, plus, percent)', async () => {
        const key = 'rt/naïve café/100% done+more (1).txt';
        await roundTrip(store, key, Buffer.from('odd key'));
        assert.deepEqual((await store.list('rt/naïve')).items.map((i) => i.key), [key]);
      });

      it('replaces an object on overwrite, content type included', async () => {
        await store.put('rt/over', chunked(Buffer.from('first version')), { contentType: 'text/plain' });
        const second = Buffer.from('second');
        await store.put('rt/over', chunked(second), { contentType: 'application/json' });
        const got = await store.get('rt/over');
        assert.ok((await readAll(got.body)).equals(second));
        assert.equal(got.contentType, 'application/json');
        const head = await store.head('rt/over');
        assert.equal(head?.contentType, 'application/json');
        assert.equal(head?.sha256, sha256(second));
      });

      it('concurrent puts to one key leave one complete body, never a mix', { skip: fixture.skips?.concurrentPut }, async () => {
        const a = pseudoRandom(300_000, 1);
        const b = pseudoRandom(200_000, 2);
        await Promise.all([store.put('rt/race', chunked(a)), store.put('rt/race', chunked(b))]);
        const bytes = await readAll((await store.get('rt/race')).body);
        assert.ok(bytes.equals(a) || bytes.equals(b));
        const head = await store.head('rt/race');
        assert.ok(head?.sha256 === undefined || head.sha256 === sha256(bytes));
      });
    });

    describe('integrity checks', () => {
      const body = Buffer.from('the real content');
      const badShas = [sha256(Buffer.from('something else')), 'f'.repeat(64)];

      it('a wrong expected sha256 stores nothing under a new key', async () => {
        for (const expectedSha256 of badShas) {
          await assert.rejects(store.put('int/new', chunked(body), { expectedSha256 }), isCode('bad_request'));
        }
        assert.equal(await store.head('int/new'), undefined);
        assert.deepEqual((await store.list('int/new')).items, []);
        assert.deepEqual(await opened.leftovers(), []);
      });

      it('a wrong expected sha256 leaves an existing object as it was', async () => {
        await store.put('int/kept', chunked(body));
        await assert.rejects(store.put('int/kept', chunked(Buffer.from('replacement')), { expectedSha256: badShas[0] }), isCode('bad_request'));
        assert.ok((await readAll((await store.get('int/kept')).body)).equals(body));
      });

      it('a wrong expected sha256 on a large body stores nothing and leaves no upload behind', async () => {
        const data = pseudoRandom(fixture.largeBody + 4096, 3);
        await assert.rejects(store.put('int/large', chunked(data), { expectedSha256: badShas[0] }), isCode('bad_request'));
        assert.equal(await store.head('int/large'), undefined);
        assert.deepEqual(await opened.leftovers(), []);
      });

      it('a body shorter or longer than the expected size stores nothing', async () => {
        await assert.rejects(store.put('int/size', chunked(body), { expectedSize: body.length + 1 }), isCode('bad_request'));
        await assert.rejects(store.put('int/size', chunked(body), { expectedSize: body.length - 1 }), isCode('bad_request'));
        const large = pseudoRandom(fixture.largeBody + 1, 4);
        await assert.rejects(store.put('int/size', chunked(large), { expectedSize: fixture.largeBody }), isCode('bad_request'));
        assert.equal(await store.head('int/size'), undefined);
        assert.deepEqual(await opened.leftovers(), []);
      });

      it('accepts a body that matches what was expected (hex in either case)', async () => {
        const put = await store.put('int/ok', chunked(body), { expectedSha256: sha256(body).toUpperCase(), expectedSize: body.length });
        assert.equal(put.sha256, sha256(body));
      });

      it('refuses a malformed expectation before reading the body', async () => {
        await assert.rejects(store.put('int/malformed', chunked(body), { expectedSha256: 'abc' }), isCode('bad_request'));
        await assert.rejects(store.put('int/malformed', chunked(body), { expectedSize: -1 }), isCode('bad_request'));
        assert.equal(await store.head('int/malformed'), undefined);
      });
    });

    describe('interrupted uploads', () => {
      const data = pseudoRandom(fixture.largeBody * 2, 5);
      for (const [label, failAfter, error] of [
        ['small, destroyed with an error', 100_000, true],
        ['large, destroyed with an error', fixture.largeBody + MiB, true],
        ['large, closed early without an error', fixture.largeBody + MiB, false],
      ] as const) {
        it(`leaves no object and no temp data (${label})`, async () => {
          const key = `cut/${failAfter}-${error}`;
          await assert.rejects(store.put(key, dying(data, failAfter, error)));
          assert.equal(await store.head(key), undefined);
          assert.deepEqual((await store.list('cut/')).items, []);
          assert.deepEqual(await opened.leftovers(), []);
        });
      }

      it('stops and stores nothing when the caller aborts', async () => {
        const controller = new AbortController();
        let sent = 0;
        const source = new Readable({
          read() {
            sent += 64 * 1024;
            if (sent > 2 * MiB) controller.abort();
            this.push(Buffer.alloc(64 * 1024, 1));
          },
        });
        await assert.rejects(store.put('cut/aborted', source, { signal: controller.signal }), isCode('bad_request'));
        assert.equal(await store.head('cut/aborted'), undefined);
        assert.deepEqual(await opened.leftovers(), []);
      });
    });

    describe('ranges', () => {
      const data = allByteValues(); // 512 bytes
      before(async () => {
        await store.put('range/obj', chunked(data));
      });

      const cases: [string, { start: number; end?: number }, number, number][] = [
        ['a middle slice', { start: 10, end: 19 }, 10, 19],
        ['from an offset to the end', { start: 300 }, 300, 511],
        ['an end past the object, clamped', { start: 500, end: 10_000 }, 500, 511],
        ['the last byte', { start: 511, end: 511 }, 511, 511],
      ];
      for (const [label, range, start, end] of cases) {
        it(`reads ${label}`, async () => {
          const got = await store.get('range/obj', range);
          assert.equal(got.size, data.length);
          assert.equal(got.contentLength, end - start + 1);
          assert.equal(got.contentRange, `bytes ${start}-${end}/${data.length}`);
          assert.ok((await readAll(got.body)).equals(data.subarray(start, end + 1)));
        });
      }

      it('refuses a range starting past the end, and malformed ranges', async () => {
        await assert.rejects(store.get('range/obj', { start: data.length }), isCode('bad_request', (e) => e.details?.['reason'] === 'range_not_satisfiable'));
        await assert.rejects(store.get('range/obj', { start: -1 }), isCode('bad_request'));
        await assert.rejects(store.get('range/obj', { start: 5, end: 4 }), isCode('bad_request'));
        await assert.rejects(store.get('range/obj', { start: 1.5 }), isCode('bad_request'));
      });
    });

    describe('head, delete and missing objects', () => {
      it('head describes an object; a missing one is undefined and get is NotFound', async () => {
        const before = Date.now();
        await store.put('hd/x', chunked(Buffer.from('12345')), { contentType: 'text/plain' });
        const head = await store.head('hd/x');
        assert.equal(head?.size, 5);
        assert.equal(head?.sha256, sha256(Buffer.from('12345')));
        assert.equal(head?.contentType, 'text/plain');
        // Clocks of the object store and this process may differ by a little, never by an hour.
        assert.ok(Math.abs((head?.lastModified ?? 0) - before) < 60 * 60 * 1000);
        assert.equal(await store.head('hd/missing'), undefined);
        assert.equal(await store.head('hd'), undefined, 'a folder-like prefix is not an object');
        await assert.rejects(store.get('hd/missing'), isCode('not_found'));
      });

      it('delete removes the object; deleting again or deleting a missing key succeeds', async () => {
        await store.put('del/a/b', chunked(Buffer.from('x')));
        await store.put('del/a/c', chunked(Buffer.from('y')));
        await store.delete('del/a/b');
        assert.equal(await store.head('del/a/b'), undefined);
        await assert.rejects(store.get('del/a/b'), isCode('not_found'));
        await store.delete('del/a/b');
        await store.delete('del/never');
        assert.deepEqual((await store.list('del/')).items.map((i) => i.key), ['del/a/c']);
        await store.delete('del/a/c');
        assert.deepEqual((await store.list('del/')).items, []);
        await store.put('del/a/b', chunked(Buffer.from('again')));
        assert.equal((await store.head('del/a/b'))?.size, 5);
      });
    });

    describe('list', () => {
      // Chosen so that byte order and a naive sorted directory walk agree: s3rver lists the latter way.
      // fs-layout.test.ts covers the keys where they differ ('a-b' sorts before 'a/1').
      const keys = ['ls/a/1', 'ls/a/2', 'ls/a/sub/3', 'ls/ab', 'ls/b/1', 'ls/b0', 'lsx/outside'];
      const underLs = ['ls/a/1', 'ls/a/2', 'ls/a/sub/3', 'ls/ab', 'ls/b/1', 'ls/b0'];
      before(async () => {
        for (const [i, key] of keys.entries()) await store.put(key, chunked(Buffer.alloc(i + 1, i)));
      });

      it('lists keys under a prefix in ascending key order, with sizes', async () => {
        const { items, nextCursor } = await store.list('ls/');
        assert.deepEqual(items.map((i) => i.key), underLs);
        assert.equal(nextCursor, undefined);
        assert.deepEqual(items.map((i) => i.size), [1, 2, 3, 4, 5, 6]);
        for (const item of items) assert.equal(typeof item.lastModified, 'number');
      });

      it('treats the prefix as a plain string prefix', async () => {
        assert.deepEqual((await store.list('ls/a')).items.map((i) => i.key), ['ls/a/1', 'ls/a/2', 'ls/a/sub/3', 'ls/ab']);
        assert.deepEqual((await store.list('ls/a/')).items.map((i) => i.key), ['ls/a/1', 'ls/a/2', 'ls/a/sub/3']);
        assert.deepEqual((await store.list('ls/b')).items.map((i) => i.key), ['ls/b/1', 'ls/b0']);
        assert.deepEqual((await store.list('ls')).items.map((i) => i.key), [...underLs, 'lsx/outside']);
        assert.deepEqual((await store.list('ls/nothing/')).items, []);
        assert.deepEqual((await store.list('nothing')).items, []);
      });

      it('pages with a cursor until every key was seen once', async () => {
        const seen: string[] = [];
        let cursor: string | undefined;
        let pages = 0;
        do {
          const page = await store.list('ls/', { limit: 2, cursor });
          assert.ok(page.items.length <= 2);
          seen.push(...page.items.map((i) => i.key));
          cursor = page.nextCursor;
          pages++;
          assert.ok(pages < 10, 'pagination does not terminate');
        } while (cursor !== undefined);
        assert.deepEqual(seen, underLs);
        assert.ok(pages >= 3);
      });

      it('refuses a bad limit, prefix or cursor', async () => {
        await assert.rejects(store.list('ls/', { cursor: 'garbage' }), isCode('bad_request'));
        await assert.rejects(store.list('ls/', { limit: 0 }), isCode('bad_request'));
        await assert.rejects(store.list('ls/', { limit: 1001 }), isCode('bad_request'));
        await assert.rejects(store.list('../'), isCode('bad_request'));
      });
    });

    describe('key validation', () => {
      const invalid = ['..', '../x', 'a/../b', 'a/./b', '/abs', 'a//b', 'a/', '', '%2e%2e', 'a/%2E%2e/b', 'a%2fb', 'a%5cb', 'a\\b', 'a\0b', 'a\nb', 'k'.repeat(1025)];

      it('every method refuses traversal, absolute, encoded, control-character and overlong keys', async () => {
        for (const key of invalid) {
          const label = JSON.stringify(key.slice(0, 20));
          await assert.rejects(store.put(key, chunked(Buffer.from('x'))), isCode('bad_request'), `put ${label}`);
          await assert.rejects(store.get(key), isCode('bad_request'), `get ${label}`);
          await assert.rejects(store.head(key), isCode('bad_request'), `head ${label}`);
          await assert.rejects(store.delete(key), isCode('bad_request'), `delete ${label}`);
          await assert.rejects(store.presign('get', key, 60_000), isCode('bad_request'), `presign ${label}`);
        }
      });

      it('accepts a key of exactly 1024 bytes', async () => {
        const key = `long/${'k'.repeat(200)}/${'k'.repeat(200)}/${'k'.repeat(200)}/${'k'.repeat(200)}/${'k'.repeat(1024 - 5 - 4 * 201)}`;
        assert.equal(Buffer.byteLength(key), 1024);
        await roundTrip(store, key, Buffer.from('long key'));
      });
    });

    describe('memory', () => {
      // Buffering a whole object costs at least BODY; streaming costs a few parts plus garbage the
      // collector has not reclaimed yet (about 80 MiB at worst for s3, measured). The bound sits well
      // clear of both.
      const BODY = 256 * MiB;
      const BOUND = 160 * MiB;
      const growth = () => {
        const base = process.memoryUsage().arrayBuffers;
        let peak = 0;
        return {
          sample: () => {
            peak = Math.max(peak, process.memoryUsage().arrayBuffers - base);
          },
          peak: () => peak,
        };
      };

      it('uploads and downloads 256 MiB without holding the object in memory', async () => {
        const up = growth();
        let sent = 0;
        const source = new Readable({
          read() {
            if (sent >= BODY) return void this.push(null);
            sent += MiB;
            up.sample();
            // A fresh buffer each time: a driver that kept the chunks would keep real memory.
            this.push(Buffer.alloc(MiB, sent % 251));
          },
        });
        const put = await store.put('mem/big.bin', source);
        up.sample();
        assert.equal(put.size, BODY);
        assert.ok(up.peak() < BOUND, `upload grew buffers by ${(up.peak() / MiB).toFixed(0)} MiB`);

        const down = growth();
        let received = 0;
        for await (const part of (await store.get('mem/big.bin')).body) {
          received += (part as Buffer).length;
          down.sample();
        }
        assert.equal(received, BODY);
        assert.ok(down.peak() < BOUND, `download grew buffers by ${(down.peak() / MiB).toFixed(0)} MiB`);
        await store.delete('mem/big.bin');
      });
    });

    describe('presigned URLs', () => {
      it('a presigned PUT then a presigned GET move the bytes with plain fetch', async () => {
        const data = allByteValues();
        const key = 'ps/uploaded by url.bin';
        const put = await store.presign('put', key, 60_000);
        assert.equal(put.method, 'PUT');
        const up = await fetch(put.url, { method: 'PUT', body: data, headers: put.headers });
        assert.equal(up.status, 200, await up.text());
        const head = await store.head(key);
        assert.equal(head?.size, data.length);
        assert.ok(head?.sha256 === undefined || head.sha256 === sha256(data));
        const get = await store.presign('get', key, 60_000);
        assert.equal(get.method, 'GET');
        const down = await fetch(get.url);
        assert.equal(down.status, 200);
        assert.ok(Buffer.from(await down.arrayBuffer()).equals(data));
      });

      it('caps the ttl at max_url_ttl and refuses a non-positive ttl', async () => {
        const now = Date.now();
        const url = await store.presign('get', 'ps/readonly', 100 * opened.maxUrlTtlMs);
        assert.ok(url.expiresAt <= now + opened.maxUrlTtlMs + 2000, `expiresAt ${url.expiresAt - now} ms ahead`);
        assert.ok(url.expiresAt > now + opened.maxUrlTtlMs / 2);
        await assert.rejects(store.presign('get', 'ps/readonly', 0), isCode('bad_request'));
        await assert.rejects(store.presign('put', 'ps/readonly', -5), isCode('bad_request'));
      });
    });
  });
}
