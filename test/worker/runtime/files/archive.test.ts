/**
 * Tar archives out and in: a round trip through our own writer and reader (streamed end to end),
 * interoperability with the system's tar (GNU or bsdtar, ustar/gnu/pax formats, gzip), and malicious
 * archives — absolute names, `..`, symlinks or hard links leading outside, files through such links,
 * device and FIFO entries, oversize, corrupt and truncated archives — all refused with nothing written
 * outside the workspace.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  symlinkSync,
  writeFileSync,
  chmodSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { BadRequest, DroverError } from '../../../../src/domain/errors.js';
import { padding } from '../../../../src/worker/runtime/files/tar-format.js';
import type { FileFixture } from '../support/files.js';
import { fileFixture, leftovers } from '../support/files.js';
import { chunked, rawHeader, tarOf } from '../support/tar.js';

const STRAY = 'drover-archive-test-must-not-exist';
const LONG_SEGMENT = `${'long-name-'.repeat(20)}end`; // 203 bytes: needs PAX
const LONG_PATH = `${'d'.repeat(90)}/${'e'.repeat(90)}/f.txt`; // fits the ustar prefix split

function hasTar(): boolean {
  try {
    execFileSync('tar', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A comparable description of a tree: type, permission bits, content or link target per entry. */
function describeTree(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, rel: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const full = join(dir, name);
      const info = lstatSync(full);
      const path = `${rel}${name}`;
      if (info.isSymbolicLink()) out.push(`L ${path} -> ${readlinkSync(full)}`);
      else if (info.isDirectory()) {
        out.push(`D ${path} ${(info.mode & 0o7777).toString(8)}`);
        walk(full, `${path}/`);
      } else {
        const digest = readFileSync(full).toString('base64').slice(0, 24);
        out.push(`F ${path} ${(info.mode & 0o7777).toString(8)} ${info.size} ${digest} ${Math.floor(info.mtimeMs / 1000)}`);
      }
    }
  };
  walk(root, '');
  return out;
}

async function bufferOf(stream: Readable): Promise<Buffer> {
  return Buffer.concat(await stream.toArray());
}

describe('tar archives', () => {
  let fx: FileFixture;
  let outsideBefore: string;
  let binary: Buffer;

  before(async () => {
    fx = await fileFixture();
    const project = join(fx.workspace, 'project');
    mkdirSync(join(project, 'sub', 'deeper'), { recursive: true });
    mkdirSync(join(project, 'private'), { mode: 0o700 });
    mkdirSync(join(project, LONG_PATH, '..'), { recursive: true });
    binary = randomBytes(200 * 1024 + 3);
    writeFileSync(join(project, 'empty'), '');
    writeFileSync(join(project, 'binary.bin'), binary);
    writeFileSync(join(project, 'héllo wörld.txt'), 'unicode\n');
    writeFileSync(join(project, 'sub', 'file.txt'), 'in sub\n');
    writeFileSync(join(project, 'sub', 'deeper', LONG_SEGMENT), 'long\n');
    writeFileSync(join(project, LONG_PATH), 'prefix split\n');
    writeFileSync(join(project, 'run.sh'), '#!/bin/sh\n', { mode: 0o755 });
    chmodSync(join(project, 'run.sh'), 0o755);
    chmodSync(join(project, 'private'), 0o700);
    symlinkSync('sub/file.txt', join(project, 'link'));
    outsideBefore = fx.outsideFingerprint();
  });
  after(() => fx.close());

  function assertOutsideUntouched(label: string): void {
    assert.equal(fx.outsideFingerprint(), outsideBefore, `${label}: outside changed`);
    assert.equal(existsSync(`/etc/${STRAY}`), false, `${label}: a file appeared in /etc`);
  }

  it('round-trips a tree through archive out → archive in, streamed', async () => {
    const out = await fx.files.archiveOut('/workspace/project');
    assert.equal(out.path, '/workspace/project');
    const result = await fx.files.archiveIn('copy', out.stream);
    assert.equal(result.path, '/workspace/copy');
    assert.equal(result.bytes, binary.length + 8 + 7 + 5 + 13 + 10);
    assert.deepEqual(describeTree(join(fx.workspace, 'copy')), describeTree(join(fx.workspace, 'project')));
    assert.deepEqual(leftovers(join(fx.workspace, 'copy')), []);
  });

  it('archives a single file under its own name', async () => {
    const out = await fx.files.archiveOut('project/sub/file.txt');
    await fx.files.archiveIn('single', out.stream);
    assert.deepEqual(readdirSync(join(fx.workspace, 'single')), ['file.txt']);
    assert.equal(readFileSync(join(fx.workspace, 'single', 'file.txt'), 'utf8'), 'in sub\n');
  });

  it('accepts gzip-compressed archives', async () => {
    const tar = await bufferOf((await fx.files.archiveOut('project/sub')).stream);
    await fx.files.archiveIn('gz', chunked(gzipSync(tar)));
    assert.equal(readFileSync(join(fx.workspace, 'gz', 'file.txt'), 'utf8'), 'in sub\n');
    await assert.rejects(fx.files.archiveIn('gz2', chunked(Buffer.concat([Buffer.from([0x1f, 0x8b]), randomBytes(100)]))), BadRequest);
  });

  it('applies directory modes after the contents, so read-only directories still extract', async () => {
    const tar = tarOf([
      { name: 'ro/', type: 'dir', mode: 0o555 },
      { name: 'ro/file', type: 'file', content: 'inside a read-only dir' },
    ]);
    await fx.files.archiveIn('modes', chunked(tar));
    assert.equal(lstatSync(join(fx.workspace, 'modes/ro')).mode & 0o777, 0o555);
    assert.equal(readFileSync(join(fx.workspace, 'modes/ro/file'), 'utf8'), 'inside a read-only dir');
  });

  it('extracts hard links to a file already extracted', async () => {
    const tar = tarOf([
      { name: 'orig.txt', type: 'file', content: 'shared inode' },
      { name: 'alias.txt', typeflag: '1', linkname: 'orig.txt' },
    ]);
    await fx.files.archiveIn('hardlinks', chunked(tar));
    const orig = lstatSync(join(fx.workspace, 'hardlinks', 'orig.txt'));
    const alias = lstatSync(join(fx.workspace, 'hardlinks', 'alias.txt'));
    assert.equal(alias.ino, orig.ino);
    assert.equal(readFileSync(join(fx.workspace, 'hardlinks', 'alias.txt'), 'utf8'), 'shared inode');
  });

  it('leaves FIFOs out of archives instead of blocking on them', async () => {
    mkdirSync(join(fx.workspace, 'with-fifo'));
    writeFileSync(join(fx.workspace, 'with-fifo', 'plain.txt'), 'plain');
    execFileSync('mkfifo', [join(fx.workspace, 'with-fifo', 'pipe')]);
    await fx.files.archiveIn('without-fifo', (await fx.files.archiveOut('with-fifo')).stream);
    assert.deepEqual(readdirSync(join(fx.workspace, 'without-fifo')), ['plain.txt']);
    await assert.rejects(fx.files.download('with-fifo/pipe'), BadRequest);
  });

  describe('interoperability with the system tar', { skip: hasTar() ? false : 'no tar binary on this host' }, () => {
    it('system tar reads what we write', async () => {
      const tar = await bufferOf((await fx.files.archiveOut('project')).stream);
      const target = join(fx.base, 'system-extract');
      mkdirSync(target);
      execFileSync('tar', ['-xf', '-', '-C', target], { input: tar });
      assert.deepEqual(describeTree(target), describeTree(join(fx.workspace, 'project')));
    });

    for (const format of ['gnu', 'pax', 'ustar']) {
      it(`we read what system tar writes (--format=${format})`, async (t) => {
        const source = join(fx.workspace, 'project');
        let tar: Buffer;
        try {
          // ustar cannot hold the 203-byte name; archive only what fits that format.
          const what = format === 'ustar' ? ['sub/file.txt', 'binary.bin', 'link', LONG_PATH] : ['.'];
          tar = execFileSync('tar', [`--format=${format}`, '-cf', '-', '-C', source, ...what], { maxBuffer: 64 * 1024 * 1024 });
        } catch {
          t.skip(`this tar does not support --format=${format}`);
          return;
        }
        const dest = `from-${format}`;
        await fx.files.archiveIn(dest, chunked(tar, 4096 + 13));
        if (format !== 'ustar') {
          assert.deepEqual(describeTree(join(fx.workspace, dest)), describeTree(source));
        } else {
          assert.deepEqual(readFileSync(join(fx.workspace, dest, 'binary.bin')), binary);
          assert.equal(readFileSync(join(fx.workspace, dest, LONG_PATH), 'utf8'), 'prefix split\n');
          assert.equal(readlinkSync(join(fx.workspace, dest, 'link')), 'sub/file.txt');
        }
      });
    }

    it('we read gzip from system tar', async () => {
      const tar = execFileSync('tar', ['-czf', '-', '-C', join(fx.workspace, 'project'), 'sub']);
      await fx.files.archiveIn('from-tgz', chunked(tar));
      assert.equal(readFileSync(join(fx.workspace, 'from-tgz', 'sub', 'file.txt'), 'utf8'), 'in sub\n');
    });
  });

  describe('malicious archives are refused, nothing written outside', () => {
    const cases: Array<[string, () => Buffer, 'refused' | 'accepted']> = [
      ['absolute name', () => tarOf([{ name: `/etc/${STRAY}`, type: 'file', content: 'x' }]), 'refused'],
      ['../ name', () => tarOf([{ name: '../outside/pwned', type: 'file', content: 'x' }]), 'refused'],
      ['nested ../ name', () => tarOf([{ name: 'a/../../outside/pwned', type: 'file', content: 'x' }]), 'refused'],
      [
        'symlink to /etc, then a file through it',
        () => tarOf([{ name: 'etc', type: 'symlink', target: '/etc' }, { name: `etc/${STRAY}`, type: 'file', content: 'x' }]),
        'refused',
      ],
      [
        'relative symlink escaping, then a file through it',
        () => tarOf([{ name: 'up', type: 'symlink', target: '../../outside' }, { name: 'up/pwned', type: 'file', content: 'x' }]),
        'refused',
      ],
      [
        'symlink escaping from a subdirectory',
        () => tarOf([{ name: 'a/b/up', type: 'symlink', target: '../../../../outside/canary.txt' }]),
        'refused',
      ],
      ['file through a symlink already in the workspace', () => tarOf([{ name: 'escape/pwned', type: 'file', content: 'x' }]), 'refused'],
      [
        'file replacing a symlink already in the workspace is written in place, not through it',
        () => tarOf([{ name: 'escape-file', type: 'file', content: 'replaced' }]),
        'accepted', // checked below
      ],
      ['hard link to an absolute path', () => tarOf([{ name: 'h', typeflag: '1', linkname: '/etc/passwd' }]), 'refused'],
      ['hard link leaving the directory', () => tarOf([{ name: 'h', typeflag: '1', linkname: '../outside/canary.txt' }]), 'refused'],
      ['hard link to a symlink', () => tarOf([{ name: 'h', typeflag: '1', linkname: 'escape' }]), 'refused'],
      ['character device', () => tarOf([{ name: 'tty', typeflag: '3' }]), 'refused'],
      ['block device', () => tarOf([{ name: 'disk', typeflag: '4' }]), 'refused'],
      ['fifo', () => tarOf([{ name: 'pipe', typeflag: '6' }]), 'refused'],
      ['NUL in a PAX path', () => Buffer.concat([paxEntry('path', 'ok\0/../../x'), tarOf([{ name: 'placeholder', type: 'file', content: 'x' }])]), 'refused'],
      ['PAX path escaping', () => Buffer.concat([paxEntry('path', '../outside/pwned'), tarOf([{ name: 'placeholder', type: 'file', content: 'x' }])]), 'refused'],
      ['corrupt checksum', () => corrupt(tarOf([{ name: 'f', type: 'file', content: 'x' }])), 'refused'],
      ['truncated mid-file', () => tarOf([{ name: 'partial.bin', type: 'file', content: Buffer.alloc(5000, 1) }]).subarray(0, 512 + 3000), 'refused'],
    ];

    for (const [label, build, expected] of cases) {
      it(label, async () => {
        const dest = join(fx.workspace, 'evil');
        mkdirSync(dest, { recursive: true });
        if (!existsSync(join(dest, 'escape'))) symlinkSync('../../outside', join(dest, 'escape'));
        if (!existsSync(join(dest, 'escape-file'))) symlinkSync('../../outside/canary.txt', join(dest, 'escape-file'));
        const attempt = fx.files.archiveIn('evil', chunked(build()));
        if (expected === 'refused') await assert.rejects(attempt, BadRequest);
        else await attempt;
        assertOutsideUntouched(label);
        assert.deepEqual(leftovers(dest), []);
        assert.equal(existsSync(join(dest, 'partial.bin')), false, 'no partial file');
      });
    }

    it('the file that replaced the workspace symlink holds the archive bytes; the canary is intact', () => {
      assert.equal(lstatSync(join(fx.workspace, 'evil', 'escape-file')).isFile(), true);
      assert.equal(readFileSync(join(fx.workspace, 'evil', 'escape-file'), 'utf8'), 'replaced');
      assertOutsideUntouched('after replacement');
    });

    it('bounds the extracted size and the number of entries', async () => {
      const big = tarOf([{ name: 'big', type: 'file', content: Buffer.alloc(10_000) }]);
      await assert.rejects(
        fx.files.archiveIn('bounded', chunked(big), { maxBytes: 4096 }),
        (err: unknown) => err instanceof DroverError && err.code === 'payload_too_large',
      );
      assert.equal(existsSync(join(fx.workspace, 'bounded', 'big')), false);
      const many = tarOf(Array.from({ length: 20 }, (_, i) => ({ name: `f${i}`, type: 'file' as const, content: 'x' })));
      await assert.rejects(fx.files.archiveIn('bounded', chunked(many), { maxEntries: 10 }), BadRequest);
    });

    it('keeps an in-workspace symlink and writes through it (it stays inside)', async () => {
      const tar = tarOf([
        { name: 'real/', type: 'dir' },
        { name: 'alias', type: 'symlink', target: 'real' },
        { name: 'alias/file', type: 'file', content: 'via alias' },
      ]);
      await fx.files.archiveIn('good-links', chunked(tar));
      assert.equal(readFileSync(join(fx.workspace, 'good-links', 'real', 'file'), 'utf8'), 'via alias');
    });
  });
});

function paxEntry(key: string, value: string): Buffer {
  const text = ` ${key}=${value}\n`;
  let length = Buffer.byteLength(text) + 2;
  if (String(length).length > 2) length = Buffer.byteLength(text) + String(length).length;
  const body = Buffer.from(`${length}${text}`);
  return Buffer.concat([rawHeader('PaxHeader', 'x', body.length), body, padding(body.length)]);
}

function corrupt(tar: Buffer): Buffer {
  const copy = Buffer.from(tar);
  copy[0] = copy[0]! ^ 0x01;
  return copy;
}
