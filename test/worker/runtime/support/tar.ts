/** Building tar archives in tests, including malformed and malicious ones. */
import { END_OF_ARCHIVE, encodeHeader, padding } from '../../../../src/worker/runtime/files/tar-format.js';

export type TestEntry =
  | { name: string; type: 'file'; content: Buffer | string; mode?: number }
  | { name: string; type: 'dir'; mode?: number }
  | { name: string; type: 'symlink'; target: string }
  | { name: string; typeflag: string; linkname?: string; content?: Buffer | string };

/** A raw ustar header with any typeflag and name (no validation: for malicious archives). */
export function rawHeader(name: string, typeflag: string, size: number, linkname = ''): Buffer {
  const block = Buffer.alloc(512);
  block.write(name, 0, 100, 'utf8');
  block.write('0000644\0', 100, 8, 'latin1');
  block.write('0000000\0', 108, 8, 'latin1');
  block.write('0000000\0', 116, 8, 'latin1');
  block.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 12, 'latin1');
  block.write('00000000000\0', 136, 12, 'latin1');
  block.write('        ', 148, 8, 'latin1');
  block.write(typeflag, 156, 1, 'latin1');
  block.write(linkname, 157, 100, 'utf8');
  block.write('ustar\u000000', 257, 8, 'latin1');
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  return block;
}

export function tarOf(entries: TestEntry[], options: { end?: boolean } = {}): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    if ('typeflag' in entry) {
      const content = Buffer.from(entry.content ?? '');
      parts.push(rawHeader(entry.name, entry.typeflag, content.length, entry.linkname), content, padding(content.length));
    } else if (entry.type === 'file') {
      const content = Buffer.from(entry.content);
      parts.push(
        encodeHeader({ name: entry.name, type: 'file', size: content.length, mode: entry.mode ?? 0o644, mtimeMs: 1_700_000_000_000 }),
        content,
        padding(content.length),
      );
    } else if (entry.type === 'dir') {
      parts.push(encodeHeader({ name: entry.name, type: 'dir', size: 0, mode: entry.mode ?? 0o755, mtimeMs: 1_700_000_000_000 }));
    } else {
      parts.push(encodeHeader({ name: entry.name, type: 'symlink', size: 0, mode: 0o777, mtimeMs: 1_700_000_000_000, linkname: entry.target }));
    }
  }
  if (options.end !== false) parts.push(END_OF_ARCHIVE);
  return Buffer.concat(parts);
}

/** The archive as a chunked async source (odd chunk sizes exercise the reader's buffering). */
export async function* chunked(bytes: Buffer, size = 777): AsyncGenerator<Buffer> {
  for (let offset = 0; offset < bytes.length; offset += size) yield bytes.subarray(offset, offset + size);
}
