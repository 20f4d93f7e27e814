import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BadRequest } from '../../../../src/domain/errors.js';
import { decodeHeader, encodeHeader, parsePax } from '../../../../src/worker/runtime/files/tar-format.js';
import { readTar } from '../../../../src/worker/runtime/files/tar-read.js';
import { chunked, rawHeader } from '../support/tar.js';

const LIMITS = { maxBytes: 2 ** 40, maxEntries: 100 };

async function firstEntry(bytes: Buffer) {
  const iterator = readTar(chunked(bytes, 100), LIMITS)[Symbol.asyncIterator]();
  const next = await iterator.next();
  await iterator.return?.(undefined);
  return next.value;
}

describe('tar format', () => {
  it('writes plain ustar headers that decode to what was written', () => {
    const block = encodeHeader({ name: 'dir/file.txt', type: 'file', size: 1234, mode: 0o640, mtimeMs: 1_700_000_000_999 });
    assert.equal(block.length, 512);
    const header = decodeHeader(block);
    assert.deepEqual(header, {
      name: 'dir/file.txt',
      mode: 0o640,
      size: 1234,
      mtimeMs: 1_700_000_000_000,
      type: 'file',
      typeflag: '0',
      linkname: '',
    });
  });

  it('splits long paths into the ustar prefix when possible', () => {
    const name = `${'p'.repeat(120)}/${'n'.repeat(90)}`;
    const block = encodeHeader({ name, type: 'dir', size: 0, mode: 0o755, mtimeMs: 0 });
    assert.equal(block.length, 512, 'no PAX header needed');
    assert.equal(decodeHeader(block).name, name);
  });

  it('uses PAX for names, link targets and sizes that ustar cannot hold', async () => {
    const name = `${'x'.repeat(300)}/é`;
    const linkname = 'l'.repeat(150);
    const link = await firstEntry(encodeHeader({ name, type: 'symlink', size: 0, mode: 0o777, mtimeMs: 0, linkname }));
    assert.equal(link?.name, name);
    assert.equal(link?.linkname, linkname);
    assert.equal(link?.type, 'symlink');
    const huge = 9 * 2 ** 30; // over the 8 GiB octal limit
    const big = await firstEntry(encodeHeader({ name: 'big.bin', type: 'file', size: huge, mode: 0o644, mtimeMs: 0 }));
    assert.equal(big?.size, huge);
  });

  it('reads GNU long names and base-256 sizes', async () => {
    const longName = `${'g'.repeat(200)}.txt`;
    const body = Buffer.from(`${longName}\0`);
    const padded = Buffer.concat([body, Buffer.alloc(512 - body.length)]);
    const main = rawHeader('truncated-name', '0', 0);
    const entry = await firstEntry(Buffer.concat([rawHeader('././@LongLink', 'L', body.length), padded, main]));
    assert.equal(entry?.name, longName);

    const block = rawHeader('b256', '0', 0);
    block.fill(0, 124, 136);
    block[124] = 0x80;
    block.writeUIntBE(5 * 2 ** 33, 130, 6);
    let sum = 0;
    block.fill(0x20, 148, 156);
    for (const byte of block) sum += byte;
    block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
    assert.equal(decodeHeader(block).size, 5 * 2 ** 33);
  });

  it('refuses malformed headers and PAX records', () => {
    const block = encodeHeader({ name: 'f', type: 'file', size: 1, mode: 0o644, mtimeMs: 0 });
    block[0] = 'g'.charCodeAt(0);
    assert.throws(() => decodeHeader(block), BadRequest);
    assert.throws(() => parsePax(Buffer.from('99 path=x\n')), BadRequest);
    assert.throws(() => parsePax(Buffer.from('abc')), BadRequest);
    assert.deepEqual([...parsePax(Buffer.from('11 path=ab\n'))], [['path', 'ab']]);
  });
});
