import { BadRequest } from '../../../domain/errors.js';

/**
 * Permission bits a client may set: rwx for all and the sticky bit. Setuid and setgid are refused —
 * the files belong to the worker's host user, and a set-id file left in a workspace is a gift to
 * whoever can reach it outside the sandbox.
 */
const ALLOWED = 0o1777;

/** A mode from a number or an octal string (`"755"`, `"0o644"`, `"0644"`). */
export function parseMode(input: number | string): number {
  let mode: number;
  if (typeof input === 'number') {
    mode = input;
  } else {
    const text = input.trim().replace(/^0o/i, '');
    if (!/^[0-7]{1,5}$/.test(text)) throw new BadRequest('mode must be octal digits such as 644 or 0755');
    mode = parseInt(text, 8);
  }
  if (!Number.isInteger(mode) || mode < 0 || (mode & ~ALLOWED) !== 0) {
    throw new BadRequest('mode may only contain permission bits and the sticky bit (at most 1777 octal)');
  }
  return mode;
}
