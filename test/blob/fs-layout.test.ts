/**
 * What only the fs driver has to get right: key order from a directory walk, confinement against
 * symlinks, the meta record's link to its object, key shapes a filesystem cannot hold, and cleanup.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rename, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FsBlobStore } from '../../src/blob/fs.js';
import { ManualClock } from '../../src/domain/clock.js';
import { DroverError } from '../../src/domain/errors.js';
import { chunked, readAll } from './support/bytes.js';

const code = (expected: string) => (err: unknown) => err instanceof DroverError && err.code === expected;

describe('fs driver specifics', () => {
  let base: string;
  let root: string;
  let outside: string;
  let clock: ManualClock;
  let store: FsBlobStore;
  const open = () => new FsBlobStore({ root, signingKey: 'k', maxUrlTtlMs: 60_000, publicBaseUrl: 'http://cp', clock });

  before(async () => {
    base = await mkdtemp(join(tmpdir(), 'drover-blob-fsx-'));
    root = join(base, 'artifacts');
    outside = join(base, 'outside');
    await mkdir(outside);
    await writeFile(join(outside, 'secret'), 'not yours');
    clock = new ManualClock(Date.now());
    store = open();
  });
  after(async () => rm(base, { recursive: true, force: true }));

  it('stores each object as a plain file at objects/<key>', async () => {
    await store.put('plain/a b.txt', chunked(Buffer.from('hello')));
    assert.equal(await readFile(join(root, 'objects', 'plain', 'a b.txt'), 'utf8'), 'hello');
  });

  it('lists in byte order even where a sorted directory walk would not (a-b < a/1 < a0)', async () => {
    for (const key of ['order/a/1', 'order/a-b', 'order/a0', 'order/a/b/c']) await store.put(key, chunked(Buffer.from(key)));
    const expected = ['order/a-b', 'order/a/1', 'order/a/b/c', 'order/a0'];
    assert.deepEqual((await store.list('order/')).items.map((i) => i.key), expected);
    const paged: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.list('order/', { limit: 1, cursor });
      paged.push(...page.items.map((i) => i.key));
      cursor = page.nextCursor;
    } while (cursor);
    assert.deepEqual(paged, expected);
    await assert.rejects(store.list('order/', { cursor: 'not a cursor!' }), code('bad_request'));
  });

  describe('symlinks inside the root are not followed out of it', () => {
    before(async () => {
      await store.head('x'); // creates the layout
      await symlink(outside, join(root, 'objects', 'dirlink'));
      await symlink(join(outside, 'secret'), join(root, 'objects', 'filelink'));
    });

    it('reads through a symlink find nothing', async () => {
      await assert.rejects(store.get('dirlink/secret'), code('not_found'));
      await assert.rejects(store.get('filelink'), code('not_found'));
      assert.equal(await store.head('dirlink/secret'), undefined);
      assert.equal(await store.head('filelink'), undefined);
      assert.deepEqual((await store.list('')).items.filter((i) => i.key.includes('link')), []);
    });

    it('writes and deletes through a symlinked folder are refused and touch nothing outside', async () => {
      await assert.rejects(store.put('dirlink/planted', chunked(Buffer.from('x'))), code('bad_request'));
      assert.equal(existsSync(join(outside, 'planted')), false);
      await store.delete('dirlink/secret');
      assert.equal(await readFile(join(outside, 'secret'), 'utf8'), 'not yours');
      assert.deepEqual(await readdir(join(root, 'tmp')), []);
    });

    it('overwriting a key that is a symlink replaces the link, not its target', async () => {
      await store.put('filelink', chunked(Buffer.from('replaced')));
      assert.equal(await readFile(join(outside, 'secret'), 'utf8'), 'not yours');
      assert.equal(await readAll((await store.get('filelink')).body).then(String), 'replaced');
    });
  });

  it('reports no sha256 once the file is no longer the one its meta record describes', async () => {
    await store.put('meta/x', chunked(Buffer.from('original')));
    assert.ok((await store.head('meta/x'))?.sha256);
    const swapped = join(root, 'tmp', 'swapped');
    await writeFile(swapped, 'swapped!');
    await rename(swapped, join(root, 'objects', 'meta', 'x'));
    const head = await store.head('meta/x');
    assert.equal(head?.size, 8);
    assert.equal(head?.sha256, undefined);
  });

  it('refuses keys that a filesystem cannot hold beside existing ones, leaving no debris', async () => {
    await store.put('shape/a', chunked(Buffer.from('file')));
    await assert.rejects(store.put('shape/a/b', chunked(Buffer.from('x'))), code('conflict'));
    await store.put('shape/d/e', chunked(Buffer.from('nested')));
    await assert.rejects(store.put('shape/d', chunked(Buffer.from('x'))), code('conflict'));
    await assert.rejects(store.get('shape/d'), code('not_found'));
    assert.equal(await store.head('shape/d'), undefined);
    assert.deepEqual((await store.list('shape/')).items.map((i) => i.key), ['shape/a', 'shape/d/e']);
    assert.deepEqual(await readdir(join(root, 'tmp')), []);
  });

  it('delete prunes the folders it emptied, in both trees', async () => {
    await store.put('prune/deep/er/x', chunked(Buffer.from('x')));
    await store.put('prune/keep', chunked(Buffer.from('y')));
    await store.delete('prune/deep/er/x');
    assert.equal(existsSync(join(root, 'objects', 'prune', 'deep')), false);
    assert.equal(existsSync(join(root, 'meta', 'prune', 'deep')), false);
    assert.equal(existsSync(join(root, 'objects', 'prune', 'keep')), true);
  });

  it('a new store sweeps temp files left by a dead process, but not recent ones', async () => {
    const tmp = join(root, 'tmp');
    await writeFile(join(tmp, 'dead.object'), 'partial');
    const old = new Date(clock.now() - 2 * 60 * 60 * 1000);
    await utimes(join(tmp, 'dead.object'), old, old);
    await writeFile(join(tmp, 'live.object'), 'in progress');
    await open().head('anything');
    assert.deepEqual(await readdir(tmp), ['live.object']);
    await rm(join(tmp, 'live.object'));
  });
});
