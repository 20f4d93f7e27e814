import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BadRequest, Conflict, NotFound } from '../../../../src/domain/errors.js';
import { compileGlob } from '../../../../src/worker/runtime/files/glob-pattern.js';
import { parseSandboxPath } from '../../../../src/worker/runtime/files/confine.js';
import { parseMode } from '../../../../src/worker/runtime/files/mode.js';
import type { FileFixture } from '../support/files.js';
import { fileFixture } from '../support/files.js';

describe('file operations', () => {
  let fx: FileFixture;
  before(async () => {
    fx = await fileFixture();
    const ws = fx.workspace;
    mkdirSync(join(ws, 'src/lib/deep'), { recursive: true });
    mkdirSync(join(ws, '.git'));
    writeFileSync(join(ws, 'README.md'), 'readme');
    writeFileSync(join(ws, 'src/main.ts'), 'main');
    writeFileSync(join(ws, 'src/util.js'), 'util');
    writeFileSync(join(ws, 'src/lib/a.ts'), 'a');
    writeFileSync(join(ws, 'src/lib/b1.ts'), 'b1');
    writeFileSync(join(ws, 'src/lib/deep/c.ts'), 'c');
    writeFileSync(join(ws, 'src/.hidden.ts'), 'hidden');
    writeFileSync(join(ws, '.git/config'), 'git');
    symlinkSync('src', join(ws, 'src-link'));
  });
  after(() => fx.close());

  it('stats files, directories and the root with sandbox paths', async () => {
    const file = await fx.files.stat('/workspace/src/main.ts');
    assert.equal(file.name, 'main.ts');
    assert.equal(file.path, '/workspace/src/main.ts');
    assert.equal(file.size, 4);
    assert.equal(file.isDir, false);
    assert.equal(file.mode, statSync(join(fx.workspace, 'src/main.ts')).mode & 0o7777);
    assert.ok(Number.isInteger(file.mtimeMs));
    assert.equal((await fx.files.stat('src')).isDir, true);
    const root = await fx.files.stat('/workspace');
    assert.deepEqual([root.name, root.path, root.isDir], ['workspace', '/workspace', true]);
    // A link inside the workspace is followed for stat, and reported under the name asked for.
    const viaLink = await fx.files.stat('src-link/main.ts');
    assert.deepEqual([viaLink.path, viaLink.size], ['/workspace/src-link/main.ts', 4]);
    await assert.rejects(fx.files.stat('nope'), NotFound);
  });

  it('lists a directory, recursively, and bounds the listing', async () => {
    const top = await fx.files.list('src');
    assert.deepEqual(top.items.map((i) => i.name), ['.hidden.ts', 'lib', 'main.ts', 'util.js']);
    assert.equal(top.truncated, false);
    assert.equal(top.items.find((i) => i.name === 'lib')?.isDir, true);
    const all = await fx.files.list('/workspace/src', { recursive: true });
    assert.deepEqual(all.items.map((i) => i.path), [
      '/workspace/src/.hidden.ts',
      '/workspace/src/lib',
      '/workspace/src/lib/a.ts',
      '/workspace/src/lib/b1.ts',
      '/workspace/src/lib/deep',
      '/workspace/src/lib/deep/c.ts',
      '/workspace/src/main.ts',
      '/workspace/src/util.js',
    ]);
    const cut = await fx.files.list('src', { recursive: true, limit: 3 });
    assert.equal(cut.items.length, 3);
    assert.equal(cut.truncated, true);
    const exact = await fx.files.list('src', { limit: 4 });
    assert.equal(exact.truncated, false, 'a listing of exactly the limit is not truncated');
    await assert.rejects(fx.files.list('README.md'), BadRequest);
    await assert.rejects(fx.files.list('missing'), NotFound);
  });

  it('globs with *, ?, **, classes and escapes, skipping dotfiles unless asked', async () => {
    const paths = async (pattern: string) => (await fx.files.glob(pattern)).items.map((i) => i.path);
    assert.deepEqual(await paths('src/*.ts'), ['/workspace/src/main.ts']);
    assert.deepEqual(await paths('src/.*.ts'), ['/workspace/src/.hidden.ts']);
    assert.deepEqual(await paths('src/lib/b?.ts'), ['/workspace/src/lib/b1.ts']);
    assert.deepEqual(await paths('src/lib/[ab]*.ts'), ['/workspace/src/lib/a.ts', '/workspace/src/lib/b1.ts']);
    assert.deepEqual(await paths('src/lib/[!a]*.ts'), ['/workspace/src/lib/b1.ts']);
    assert.deepEqual(await paths('/workspace/**/*.ts'), [
      '/workspace/src/lib/a.ts',
      '/workspace/src/lib/b1.ts',
      '/workspace/src/lib/deep/c.ts',
      '/workspace/src/main.ts',
    ]);
    assert.deepEqual(await paths('src/**/c.ts'), ['/workspace/src/lib/deep/c.ts']);
    assert.deepEqual(await paths('**/**/c.ts'), ['/workspace/src/lib/deep/c.ts'], 'no duplicates');
    assert.deepEqual(await paths('src-link/*.js'), ['/workspace/src-link/util.js'], 'a literal head may use a link inside');
    assert.deepEqual(await paths('README.md'), ['/workspace/README.md']);
    assert.deepEqual(await paths('nothing/*'), []);
    const bounded = await fx.files.glob('**', { limit: 2 });
    assert.equal(bounded.items.length, 2);
    assert.equal(bounded.truncated, true);
    const visited = await fx.files.glob('**/*.ts', { maxVisited: 3 });
    assert.equal(visited.truncated, true);
  });

  it('compiles glob patterns (pure)', () => {
    assert.deepEqual(compileGlob('src/lib/*.ts').base, ['src', 'lib']);
    assert.deepEqual(compileGlob('/workspace/a/b').rest, []);
    const seg = compileGlob('x/\\*lit[]a-]?').rest[0]!;
    assert.equal(seg.kind, 'match');
    if (seg.kind === 'match') {
      assert.ok(seg.regex.test('*lit]z'));
      assert.ok(seg.regex.test('*lit-z'));
      assert.ok(!seg.regex.test('*litbz'));
    }
    assert.deepEqual(compileGlob('a/\\*').rest, [], 'an escaped star is a literal');
    assert.deepEqual(compileGlob('a/\\*').base, ['a', '*']);
    assert.throws(() => compileGlob('../*'), BadRequest);
    assert.throws(() => compileGlob('/etc/*'), BadRequest);
    assert.throws(() => compileGlob('a/[z-a]'), BadRequest);
  });

  it('makes directories with parents, idempotently, and refuses a file in the way', async () => {
    const made = await fx.files.mkdir('/workspace/new/one/two', { mode: 0o750 });
    assert.deepEqual([made.path, made.isDir], ['/workspace/new/one/two', true]);
    assert.equal(statSync(join(fx.workspace, 'new/one/two')).mode & 0o777, 0o750);
    await fx.files.mkdir('new/one/two');
    await assert.rejects(fx.files.mkdir('README.md'), Conflict);
    await assert.rejects(fx.files.mkdir('README.md/sub'), BadRequest);
  });

  it('moves files and directories with rename semantics', async () => {
    writeFileSync(join(fx.workspace, 'from.txt'), 'moving');
    assert.deepEqual(await fx.files.move('from.txt', 'to/dir/to.txt'), { from: '/workspace/from.txt', to: '/workspace/to/dir/to.txt' });
    assert.equal(readFileSync(join(fx.workspace, 'to/dir/to.txt'), 'utf8'), 'moving');
    assert.equal(existsSync(join(fx.workspace, 'from.txt')), false);
    await fx.files.move('to', 'to-renamed');
    assert.ok(existsSync(join(fx.workspace, 'to-renamed/dir/to.txt')));
    await assert.rejects(fx.files.move('missing', 'x'), NotFound);
    await assert.rejects(fx.files.move('to-renamed', 'to-renamed/dir/inside'), BadRequest);
    await assert.rejects(fx.files.move('/workspace', 'x'), BadRequest);
    mkdirSync(join(fx.workspace, 'full/x'), { recursive: true });
    await assert.rejects(fx.files.move('to-renamed', 'full'), Conflict);
  });

  it('changes modes and refuses set-id bits', async () => {
    writeFileSync(join(fx.workspace, 'script.sh'), 'echo');
    const changed = await fx.files.chmod('script.sh', '0755');
    assert.equal(changed.mode, 0o755);
    assert.equal(statSync(join(fx.workspace, 'script.sh')).mode & 0o7777, 0o755);
    await fx.files.chmod('script.sh', 0o600);
    assert.equal(statSync(join(fx.workspace, 'script.sh')).mode & 0o7777, 0o600);
    await fx.files.chmod('src-link', 0o700); // follows a link inside: changes src
    assert.equal(statSync(join(fx.workspace, 'src')).mode & 0o777, 0o700);
    await assert.rejects(fx.files.chmod('script.sh', 0o4755), BadRequest);
    await assert.rejects(fx.files.chmod('script.sh', 'rwx'), BadRequest);
    await assert.rejects(fx.files.chmod('missing', 0o644), NotFound);
  });

  it('deletes files, empty directories, and trees only with recursive', async () => {
    writeFileSync(join(fx.workspace, 'gone.txt'), 'x');
    assert.deepEqual(await fx.files.delete('gone.txt'), { path: '/workspace/gone.txt' });
    assert.equal(existsSync(join(fx.workspace, 'gone.txt')), false);
    mkdirSync(join(fx.workspace, 'empty'));
    await fx.files.delete('empty');
    mkdirSync(join(fx.workspace, 'tree/a/b'), { recursive: true });
    writeFileSync(join(fx.workspace, 'tree/a/b/f'), 'x');
    symlinkSync('../../README.md', join(fx.workspace, 'tree/a/link'));
    await assert.rejects(fx.files.delete('tree'), Conflict);
    await fx.files.delete('tree', { recursive: true });
    assert.equal(existsSync(join(fx.workspace, 'tree')), false);
    assert.equal(readFileSync(join(fx.workspace, 'README.md'), 'utf8'), 'readme', 'the link target survived');
    await assert.rejects(fx.files.delete('missing'), NotFound);
  });
});

describe('very deep trees', () => {
  let fx: FileFixture;
  before(async () => {
    fx = await fileFixture();
    mkdirSync(join(fx.workspace, 'deep', ...Array<string>(300).fill('d')), { recursive: true });
    mkdirSync(join(fx.workspace, 'ok', ...Array<string>(200).fill('d')), { recursive: true });
  });
  after(() => fx.close());

  it('walks up to 256 levels and refuses deeper with Conflict instead of exhausting descriptors', async () => {
    assert.equal((await fx.files.list('ok', { recursive: true })).items.length, 200);
    await assert.rejects(fx.files.list('deep', { recursive: true }), Conflict);
    await assert.rejects(fx.files.glob('deep/**'), Conflict);
    const { stream } = await fx.files.archiveOut('deep');
    await assert.rejects(stream.toArray(), Conflict);
    await assert.rejects(fx.files.delete('deep', { recursive: true }), Conflict);
    // Starting lower down is fine: the bound is on levels below the starting point.
    const below = `deep/${Array<string>(100).fill('d').join('/')}`;
    assert.equal((await fx.files.list(below, { recursive: true })).items.length, 200);
    await fx.files.delete(below, { recursive: true });
    await fx.files.delete('deep', { recursive: true });
    assert.equal(existsSync(join(fx.workspace, 'deep')), false);
  });
});

describe('path and mode parsing (pure)', () => {
  it('normalizes sandbox paths', () => {
    assert.deepEqual(parseSandboxPath('/workspace'), []);
    assert.deepEqual(parseSandboxPath('/workspace/a//b/./c/'), ['a', 'b', 'c']);
    assert.deepEqual(parseSandboxPath('a/b'), ['a', 'b']);
    assert.deepEqual(parseSandboxPath('./a'), ['a']);
    assert.deepEqual(parseSandboxPath('~/x'), ['~', 'x'], 'no home expansion: ~ is a name');
    assert.deepEqual(parseSandboxPath(`${'é'.repeat(127)}`), ['é'.repeat(127)], '254 bytes is fine');
    assert.throws(() => parseSandboxPath('é'.repeat(128)), BadRequest, '256 bytes is not');
  });

  it('parses modes', () => {
    assert.equal(parseMode('644'), 0o644);
    assert.equal(parseMode('0o1777'), 0o1777);
    assert.equal(parseMode(0o700), 0o700);
    assert.throws(() => parseMode('2755'), BadRequest);
    assert.throws(() => parseMode(-1), BadRequest);
    assert.throws(() => parseMode('9'), BadRequest);
  });
});
