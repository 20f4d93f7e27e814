/** Helpers over the plain-object trees the loader merges: get/set/delete by dotted path, freezing. */

export type Tree = Record<string, unknown>;

export function isPlainObject(v: unknown): v is Tree {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** YAML `key:` with no value means "not set here", so the default (or a lower source) applies. */
export function withoutNulls(v: unknown): unknown {
  if (v === null) return undefined;
  if (Array.isArray(v)) return v;
  if (!isPlainObject(v)) return v;
  // fromEntries defines own properties, so a `__proto__` key stays a key (and is reported as unknown).
  return Object.fromEntries(
    Object.entries(v).flatMap(([k, child]) => {
      const kept = withoutNulls(child);
      return kept === undefined ? [] : [[k, kept]];
    }),
  );
}

export function getPath(tree: Tree, path: string): unknown {
  let node: unknown = tree;
  for (const part of path === '' ? [] : path.split('.')) {
    if (!isPlainObject(node) || !Object.hasOwn(node, part)) return undefined;
    node = node[part];
  }
  return node;
}

export function setPath(tree: Tree, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = tree;
  for (const part of parts.slice(0, -1)) {
    const next = Object.hasOwn(node, part) ? node[part] : undefined;
    if (!isPlainObject(next)) define(node, part, {});
    node = node[part] as Tree;
  }
  define(node, parts[parts.length - 1]!, value);
}

/** defineProperty rather than assignment, so a key named `__proto__` cannot change a prototype. */
export function define(node: Tree, key: string, value: unknown): void {
  Object.defineProperty(node, key, { value, enumerable: true, writable: true, configurable: true });
}

export function deletePath(tree: Tree, path: string): void {
  const parts = path.split('.');
  const parent = getPath(tree, parts.slice(0, -1).join('.'));
  if (isPlainObject(parent)) delete parent[parts[parts.length - 1]!];
}

export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

export function lastSegment(path: string): string {
  return path.slice(path.lastIndexOf('.') + 1);
}
