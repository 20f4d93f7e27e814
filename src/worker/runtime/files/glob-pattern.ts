/**
 * A small glob dialect of our own (pure; no dependency): `*` (any run of characters within one path
 * segment), `?` (one character), `[abc]`, `[a-z]`, `[!x]` / `[^x]` (classes), `\x` (a literal x), and a
 * whole segment `**` (zero or more directories). As in the shell, a wildcard does not match a leading
 * `.` unless the pattern segment starts with one. Patterns are confined like paths: relative to
 * /workspace or absolute under it, no `..`, no NUL.
 */
import { BadRequest } from '../../../domain/errors.js';
import { parseSandboxPath } from './confine.js';

export type Segment = { kind: 'literal'; name: string } | { kind: 'match'; regex: RegExp } | { kind: 'globstar' };

export interface CompiledGlob {
  /** Leading literal segments: where the walk starts (resolved like any path). */
  base: string[];
  /** The rest, matched while walking. Empty = the base itself. */
  rest: Segment[];
}

export function compileGlob(pattern: string): CompiledGlob {
  const segments = parseSandboxPath(pattern);
  const compiled = segments.map(compileSegment);
  const firstMagic = compiled.findIndex((s) => s.kind !== 'literal');
  const split = firstMagic === -1 ? compiled.length : firstMagic;
  return {
    base: compiled.slice(0, split).map((s) => (s as { name: string }).name),
    rest: compiled.slice(split),
  };
}

function compileSegment(segment: string): Segment {
  if (segment === '**') return { kind: 'globstar' };
  if (!/[*?[\\]/.test(segment)) return { kind: 'literal', name: segment };
  let source = '';
  let literal = '';
  let magic = false;
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i]!;
    if (c === '\\') {
      const next = segment[i + 1];
      if (next === undefined) throw new BadRequest('glob pattern ends with a backslash');
      source += escapeRegex(next);
      literal += next;
      i++;
    } else if (c === '*') {
      source += '[^/]*';
      magic = true;
    } else if (c === '?') {
      source += '[^/]';
      magic = true;
    } else if (c === '[') {
      const end = classEnd(segment, i);
      if (end === -1) {
        source += '\\[';
        literal += '[';
      } else {
        source += classRegex(segment.slice(i + 1, end));
        magic = true;
        i = end;
      }
    } else {
      source += escapeRegex(c);
      literal += c;
    }
  }
  if (!magic) return { kind: 'literal', name: literal };
  // A leading dot must be matched literally (shell convention: `*` does not match `.git`).
  const guard = segment.startsWith('.') ? '' : '(?!\\.)';
  return { kind: 'match', regex: new RegExp(`^${guard}${source}$`, 'u') };
}

/** Index of the `]` closing the class opened at `start`, or -1 (then `[` is literal). */
function classEnd(segment: string, start: number): number {
  let i = start + 1;
  if (segment[i] === '!' || segment[i] === '^') i++;
  if (segment[i] === ']') i++; // a leading ] is a member
  for (; i < segment.length; i++) {
    if (segment[i] === '\\') i++;
    else if (segment[i] === ']') return i;
  }
  return -1;
}

function classRegex(body: string): string {
  let negate = false;
  let i = 0;
  if (body[0] === '!' || body[0] === '^') {
    negate = true;
    i = 1;
  }
  let members = '';
  for (; i < body.length; i++) {
    let c = body[i]!;
    if (c === '\\' && i + 1 < body.length) c = body[++i]!;
    if (body[i + 1] === '-' && i + 2 < body.length) {
      let to = body[i + 2]!;
      let skip = 2;
      if (to === '\\' && i + 3 < body.length) {
        to = body[i + 3]!;
        skip = 3;
      }
      if (to < c) throw new BadRequest(`glob class range ${c}-${to} is reversed`);
      members += `${escapeClass(c)}-${escapeClass(to)}`;
      i += skip;
    } else {
      members += escapeClass(c);
    }
  }
  return negate ? `[^/${members}]` : `[${members}]`;
}

function escapeRegex(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

function escapeClass(c: string): string {
  return c.replace(/[\]\\^-]/g, '\\$&');
}
