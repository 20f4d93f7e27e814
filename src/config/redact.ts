/**
 * A copy of the config that is safe to print or log. The list of secrets is SECRET_KEYS from the
 * schema, the same list the loader uses for `*_file`, so a new secret cannot be loadable from a file
 * yet printed in clear. `*_file` paths themselves are kept: they say where a secret lives, not what it is.
 */
import type { Config } from './schema.js';
import { SECRET_KEYS } from './schema.js';

export const REDACTED = '<redacted>';

type Tree = Record<string, unknown>;

export function redactConfig(config: Config): Config {
  // structuredClone of a frozen object gives an ordinary mutable copy; the caller's config is untouched.
  const copy = structuredClone(config) as Config;
  const tree = copy as unknown as Tree;
  for (const { key, form } of SECRET_KEYS) {
    const parts = key.split('.');
    const parent = parentOf(tree, parts);
    const name = parts[parts.length - 1]!;
    if (!parent || parent[name] === undefined) continue; // absent stays absent
    if (form === 'map') {
      parent[name] = Object.fromEntries(Object.keys(parent[name] as Tree).map((id) => [id, REDACTED]));
    } else if (key === 'database.dsn') {
      parent[name] = redactDsn(String(parent[name]));
    } else {
      parent[name] = REDACTED;
    }
  }
  return copy;
}

/**
 * Only the password of a DSN is secret; keeping host and database visible is what makes `config print`
 * useful for "which database am I on". Covers both forms libpq accepts: URI (password in the user-info
 * or as a query parameter) and `key=value` pairs.
 */
export function redactDsn(dsn: string): string {
  return dsn
    // Greedy up to the last "@" of the authority: an unescaped "@" inside a password must not leak its tail.
    .replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/?#@]*:)[^/?#]*@/i, `$1${REDACTED}@`)
    .replace(/([?&]password=)[^&#]*/gi, `$1${REDACTED}`)
    .replace(/(^|\s)(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)/gi, `$1$2${REDACTED}`);
}

function parentOf(tree: Tree, parts: string[]): Tree | undefined {
  let node: unknown = tree;
  for (const part of parts.slice(0, -1)) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Tree)[part];
  }
  return typeof node === 'object' && node !== null ? (node as Tree) : undefined;
}
