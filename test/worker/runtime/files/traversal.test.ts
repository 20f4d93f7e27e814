/**
 * 06-quality.md security item 3 at the runtime layer: every file operation × every traversal case
 * (`..`, absolute paths outside /workspace, symlinks in the workspace pointing to /etc or to a sibling
 * directory outside, NUL, overlong) is refused with BadRequest, and nothing outside the workspace is
 * read or written: a canary directory next to the workspace is fingerprinted (names, modes, sizes,
 * mtimes, contents) before and after each case.
 *
 * Write-type operations aimed through the /etc link use names that do not exist there, so a bug in
 * this code could at worst create a stray file in /etc (which the test also checks), never overwrite one.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readlinkSync, symlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { BadRequest } from '../../../../src/domain/errors.js';
import type { SandboxFiles } from '../../../../src/worker/runtime/files/sandbox-files.js';
import type { FileFixture } from '../support/files.js';
import { CANARY, fileFixture } from '../support/files.js';
import { chunked, tarOf } from '../support/tar.js';

const STRAY = 'drover-traversal-test-must-not-exist';

/** Paths refused by every operation, whichever way the operation treats a final symlink. */
const ALWAYS_REFUSED: Array<[string, string]> = [
  ['parent', '..'],
  ['parent then outside', '../outside/canary.txt'],
  ['absolute outside', '/etc/passwd'],
  ['absolute outside (new name)', `/etc/${STRAY}`],
  ['absolute root', '/'],
  ['workspace then parent', '/workspace/../outside/canary.txt'],
  ['inner parent escape', 'a/../../outside/canary.txt'],
  ['harmless-looking parent', 'a/../b'],
  ['workspace prefix trick', '/workspacex/file'],
  ['other absolute', '/tmp/x'],
  ['through a link to /etc', `etc-link/${STRAY}`],
  ['through a link to /etc (existing file)', 'etc-link/hostname'],
  ['through a relative link to a sibling', 'sibling/canary.txt'],
  ['through a relative link to a sibling (new name)', 'sibling/new-file'],
  ['through an absolute link to a sibling', 'abs-sibling/canary.txt'],
  ['through a link, nested', 'sibling/dir/inner.txt'],
  ['through a link chain', 'chain/canary.txt'],
  ['through a dangling link pointing outside', 'dangling-out/x'],
  ['NUL byte', 'file\0.txt'],
  ['NUL byte after a good prefix', '/workspace/ok\0/../../etc/passwd'],
  ['segment over 255 bytes', 'a'.repeat(256)],
  ['path over 4096 bytes', `${'abcdefg/'.repeat(520)}x`],
  ['empty', ''],
];

/** Final-component symlinks to outside: refused by operations that follow them. */
const FOLLOWED_LINKS: Array<[string, string]> = [
  ['final link to a file outside', 'canary-link'],
  ['final link to a sibling dir', 'sibling'],
  ['final absolute link to a sibling dir', 'abs-sibling'],
  ['final link to /etc', 'etc-link'],
  ['final dangling link to outside', 'dangling-out'],
];

type Op = [name: string, run: (files: SandboxFiles, path: string) => Promise<unknown>];

const body = () => Readable.from([Buffer.from('PWNED')]);
const tar = () => chunked(tarOf([{ name: 'pwned.txt', type: 'file', content: 'PWNED' }]));

/** Operations that follow a symlink in the last component. */
const FOLLOWING_OPS: Op[] = [
  ['upload', (f, p) => f.upload(p, body())],
  ['download', async (f, p) => (await f.download(p)).stream.destroy()],
  ['stat', (f, p) => f.stat(p)],
  ['list', (f, p) => f.list(p)],
  ['list recursive', (f, p) => f.list(p, { recursive: true })],
  ['glob', (f, p) => f.glob(p)],
  ['glob below', (f, p) => f.glob(`${p}/*`)],
  ['glob globstar below', (f, p) => f.glob(`${p}/**`)],
  ['mkdir', (f, p) => f.mkdir(p)],
  ['chmod', (f, p) => f.chmod(p, 0o777)],
  ['archive out', async (f, p) => (await f.archiveOut(p)).stream.destroy()],
  ['archive in', (f, p) => f.archiveIn(p, tar())],
];

/** Operations that act on a final symlink itself (tested separately below). */
const LINK_OPS: Op[] = [
  ['delete', (f, p) => f.delete(p)],
  ['delete recursive', (f, p) => f.delete(p, { recursive: true })],
  ['move from', (f, p) => f.move(p, 'moved-here')],
  ['move to', (f, p) => f.move('victim.txt', p)],
];

describe('path traversal: every file operation × every escape', () => {
  let fx: FileFixture;
  let before_: string;

  before(async () => {
    fx = await fileFixture();
    const ws = fx.workspace;
    symlinkSync('/etc', join(ws, 'etc-link'));
    symlinkSync('../outside', join(ws, 'sibling'));
    symlinkSync(fx.outside, join(ws, 'abs-sibling'));
    symlinkSync('../outside/canary.txt', join(ws, 'canary-link'));
    symlinkSync('sibling', join(ws, 'chain'));
    symlinkSync('../outside/nonexistent', join(ws, 'dangling-out'));
    mkdirSync(join(ws, 'a'));
    writeFileSync(join(ws, 'victim.txt'), 'victim');
    before_ = fx.outsideFingerprint();
  });
  after(() => fx.close());

  function assertUntouched(label: string): void {
    assert.equal(fx.outsideFingerprint(), before_, `${label}: the outside directory changed`);
    assert.equal(readFileSync(join(fx.outside, 'canary.txt'), 'utf8'), CANARY);
    assert.equal(existsSync(`/etc/${STRAY}`), false, `${label}: a file appeared in /etc`);
    assert.equal(existsSync(join(fx.workspace, 'moved-here')), false, `${label}: something was moved`);
    assert.equal(readFileSync(join(fx.workspace, 'victim.txt'), 'utf8'), 'victim');
  }

  for (const [op, run] of [...FOLLOWING_OPS, ...LINK_OPS]) {
    it(`${op}: refuses every escaping path with BadRequest`, async () => {
      for (const [label, path] of ALWAYS_REFUSED) {
        await assert.rejects(run(fx.files, path), BadRequest, `${op} × ${label} (${JSON.stringify(path.slice(0, 60))})`);
        assertUntouched(`${op} × ${label}`);
      }
    });
  }

  for (const [op, run] of FOLLOWING_OPS) {
    it(`${op}: refuses a final symlink that points outside`, async () => {
      for (const [label, path] of FOLLOWED_LINKS) {
        await assert.rejects(run(fx.files, path), BadRequest, `${op} × ${label}`);
        assertUntouched(`${op} × ${label}`);
      }
    });
  }

  it('refuses moves whose destination escapes, for any source', async () => {
    for (const [label, path] of [...ALWAYS_REFUSED]) {
      await assert.rejects(fx.files.move('victim.txt', path), BadRequest, label);
      assertUntouched(`move to ${label}`);
    }
  });

  it('delete and move act on a final symlink itself, never on what it points to', async () => {
    await fx.files.delete('canary-link');
    assert.equal(existsSync(join(fx.workspace, 'canary-link')), false);
    assertUntouched('delete canary-link');
    await fx.files.delete('sibling', { recursive: true });
    assert.equal(existsSync(join(fx.workspace, 'sibling')), false);
    assertUntouched('delete -r sibling');
    await fx.files.move('abs-sibling', 'renamed-link');
    assert.equal(readlinkSync(join(fx.workspace, 'renamed-link')), fx.outside);
    assertUntouched('move abs-sibling');
    symlinkSync('../outside/canary.txt', join(fx.workspace, 'canary-link-2'));
    writeFileSync(join(fx.workspace, 'replacement.txt'), 'replacement');
    await fx.files.move('replacement.txt', 'canary-link-2');
    assert.equal(readFileSync(join(fx.workspace, 'canary-link-2'), 'utf8'), 'replacement');
    assertUntouched('move over canary-link-2');
  });

  it('listing and globbing show links inside the workspace but never descend through them', async () => {
    symlinkSync('../outside', join(fx.workspace, 'sibling-again'));
    const listing = await fx.files.list('/workspace', { recursive: true });
    const link = listing.items.find((i) => i.name === 'sibling-again');
    assert.equal(link?.isSymlink, true);
    assert.equal(link?.isDir, false);
    assert.ok(!listing.items.some((i) => i.name === 'canary.txt' || i.name === 'inner.txt'));
    const globbed = await fx.files.glob('**/canary.txt');
    assert.deepEqual(globbed.items, []);
    const everything = await fx.files.glob('**');
    assert.ok(!everything.items.some((i) => i.name === 'inner.txt'));
    assertUntouched('list/glob');
  });

  it('refuses to delete the workspace root, however it is named', async () => {
    for (const path of ['/workspace', '/workspace/', '.', './', '/workspace/.', '']) {
      await assert.rejects(fx.files.delete(path, { recursive: true }), BadRequest, JSON.stringify(path));
    }
    assert.ok(existsSync(join(fx.workspace, 'victim.txt')));
  });
});
