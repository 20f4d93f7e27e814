/**
 * The tar format, the part of it we need (pure functions over 512-byte blocks). We write POSIX ustar
 * with PAX extended headers for long names and large sizes; we read ustar, PAX (`x`; `g` ignored) and
 * GNU long names (`L`/`K`) and base-256 numbers, which covers what GNU tar, bsdtar and the common
 * libraries produce.
 *
 * Why our own instead of a dependency: the archive routes must judge every entry themselves anyway
 * (confinement is ours to enforce, not a library's), and the only tar library in the tree is a stale
 * transitive one (tar-stream 2, via prebuild-install). The format subset is ~200 lines with tests;
 * a new dependency would bring its own parser plus our checks on top.
 */
import { BadRequest } from '../../../domain/errors.js';

export const BLOCK = 512;

export type EntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'pax' | 'pax-global' | 'gnu-longname' | 'gnu-longlink' | 'other';

export interface TarHeader {
  name: string;
  mode: number;
  size: number;
  mtimeMs: number;
  type: EntryType;
  /** The raw typeflag character (for error messages about unsupported entries). */
  typeflag: string;
  linkname: string;
}

const TYPES: Record<string, EntryType> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file', // contiguous file: a regular file everywhere that matters
  '1': 'hardlink',
  '2': 'symlink',
  '5': 'dir',
  x: 'pax',
  g: 'pax-global',
  L: 'gnu-longname',
  K: 'gnu-longlink',
};

export function isZeroBlock(block: Buffer): boolean {
  for (let i = 0; i < BLOCK; i++) if (block[i] !== 0) return false;
  return true;
}

export function decodeHeader(block: Buffer): TarHeader {
  const stored = readNumber(block, 148, 8);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const byte = i >= 148 && i < 156 ? 0x20 : block[i]!;
    unsigned += byte;
    signed += byte > 127 ? byte - 256 : byte;
  }
  if (stored !== unsigned && stored !== signed) throw new BadRequest('archive header checksum mismatch');
  const typeflag = String.fromCharCode(block[156]!);
  let name = readString(block, 0, 100);
  const magic = block.subarray(257, 263).toString('latin1');
  if (magic === 'ustar\0') {
    const prefix = readString(block, 345, 155);
    if (prefix !== '') name = `${prefix}/${name}`;
  }
  return {
    name,
    mode: readNumber(block, 100, 8),
    size: readNumber(block, 124, 12),
    mtimeMs: readNumber(block, 136, 12) * 1000,
    type: TYPES[typeflag] ?? 'other',
    typeflag,
    linkname: readString(block, 157, 100),
  };
}

function readString(block: Buffer, offset: number, length: number): string {
  const field = block.subarray(offset, offset + length);
  const end = field.indexOf(0);
  return field.subarray(0, end === -1 ? length : end).toString('utf8');
}

/** Octal ASCII, or GNU base-256 (high bit of the first byte set) for values that do not fit. */
function readNumber(block: Buffer, offset: number, length: number): number {
  const field = block.subarray(offset, offset + length);
  if ((field[0]! & 0x80) !== 0) {
    if ((field[0]! & 0x40) !== 0) throw new BadRequest('archive contains a negative number');
    let value = field[0]! & 0x3f;
    for (let i = 1; i < length; i++) value = value * 256 + field[i]!;
    if (!Number.isSafeInteger(value)) throw new BadRequest('archive number too large');
    return value;
  }
  const text = field.toString('latin1').replace(/\0.*$/s, '').trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw new BadRequest('archive header has a malformed number');
  return parseInt(text, 8);
}

/** PAX records: `<length> <key>=<value>\n`. Returns the keys we use (path, linkpath, size). */
export function parsePax(body: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let offset = 0;
  while (offset < body.length) {
    if (body[offset] === 0) break;
    const space = body.indexOf(0x20, offset);
    if (space === -1) throw new BadRequest('malformed PAX header');
    const length = Number(body.subarray(offset, space).toString('latin1'));
    if (!Number.isInteger(length) || length <= space - offset || offset + length > body.length) {
      throw new BadRequest('malformed PAX header');
    }
    const record = body.subarray(space + 1, offset + length - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq === -1) throw new BadRequest('malformed PAX header');
    out.set(record.slice(0, eq), record.slice(eq + 1));
    offset += length;
  }
  return out;
}

export interface HeaderInput {
  name: string;
  type: 'file' | 'dir' | 'symlink';
  size: number;
  mode: number;
  mtimeMs: number;
  linkname?: string;
}

const MAX_OCTAL_SIZE = 0o77777777777; // 11 octal digits: 8 GiB - 1

/** The blocks announcing one entry: a PAX header first when the name, link or size needs one. */
export function encodeHeader(entry: HeaderInput): Buffer {
  const linkname = entry.linkname ?? '';
  const split = splitName(entry.name);
  const pax: Array<[string, string]> = [];
  if (split === undefined) pax.push(['path', entry.name]);
  if (Buffer.byteLength(linkname) > 100) pax.push(['linkpath', linkname]);
  if (entry.size > MAX_OCTAL_SIZE) pax.push(['size', String(entry.size)]);
  const main = ustarBlock({
    name: split?.name ?? truncateBytes(entry.name, 100),
    prefix: split?.prefix ?? '',
    typeflag: entry.type === 'file' ? '0' : entry.type === 'dir' ? '5' : '2',
    size: entry.size > MAX_OCTAL_SIZE ? 0 : entry.size,
    mode: entry.mode,
    mtime: Math.floor(entry.mtimeMs / 1000),
    linkname: truncateBytes(linkname, 100),
  });
  if (pax.length === 0) return main;
  const body = Buffer.from(pax.map(([k, v]) => paxRecord(k, v)).join(''), 'utf8');
  const paxHeader = ustarBlock({
    name: truncateBytes(`PaxHeaders/${entry.name}`, 100),
    prefix: '',
    typeflag: 'x',
    size: body.length,
    mode: 0o644,
    mtime: Math.floor(entry.mtimeMs / 1000),
    linkname: '',
  });
  return Buffer.concat([paxHeader, body, padding(body.length), main]);
}

export function padding(size: number): Buffer {
  const rest = size % BLOCK;
  return Buffer.alloc(rest === 0 ? 0 : BLOCK - rest);
}

/** Two zero blocks end an archive. */
export const END_OF_ARCHIVE = Buffer.alloc(2 * BLOCK);

function paxRecord(key: string, value: string): string {
  const text = ` ${key}=${value}\n`;
  const bytes = Buffer.byteLength(text);
  let length = bytes + String(bytes).length;
  if (String(length).length !== String(bytes).length) length = bytes + String(length).length;
  return `${length}${text}`;
}

/** ustar's 155-byte prefix + 100-byte name split at a slash, or undefined when it does not fit. */
function splitName(name: string): { prefix: string; name: string } | undefined {
  if (Buffer.byteLength(name) <= 100) return { prefix: '', name };
  for (let i = name.indexOf('/'); i !== -1; i = name.indexOf('/', i + 1)) {
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(rest) <= 100 && rest !== '') return { prefix, name: rest };
  }
  return undefined;
}

function truncateBytes(text: string, max: number): string {
  const bytes = Buffer.from(text, 'utf8');
  return bytes.length <= max ? text : bytes.subarray(0, max).toString('utf8').replace(/\uFFFD+$/, '');
}

function ustarBlock(f: {
  name: string;
  prefix: string;
  typeflag: string;
  size: number;
  mode: number;
  mtime: number;
  linkname: string;
}): Buffer {
  const block = Buffer.alloc(BLOCK);
  block.write(f.name, 0, 100, 'utf8');
  writeOctal(block, 100, 8, f.mode & 0o7777);
  writeOctal(block, 108, 8, 0);
  writeOctal(block, 116, 8, 0);
  writeOctal(block, 124, 12, f.size);
  writeOctal(block, 136, 12, Math.max(0, Math.min(f.mtime, MAX_OCTAL_SIZE)));
  block.write('        ', 148, 8, 'latin1');
  block.write(f.typeflag, 156, 1, 'latin1');
  block.write(f.linkname, 157, 100, 'utf8');
  block.write('ustar\u000000', 257, 8, 'latin1');
  block.write(f.prefix, 345, 155, 'utf8');
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += block[i]!;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  return block;
}

function writeOctal(block: Buffer, offset: number, length: number, value: number): void {
  block.write(`${value.toString(8).padStart(length - 1, '0')}\0`, offset, length, 'latin1');
}
