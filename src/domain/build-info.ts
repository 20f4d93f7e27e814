import { readFileSync } from 'node:fs';

export interface BuildInfo {
  version: string;
  node: string;
}

/** Version from package.json, read when asked (nothing is read at import time). */
export function buildInfo(): BuildInfo {
  // Compiled, this file is dist/src/domain/ (package root three levels up); as source, two.
  for (const rel of ['../../../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'drover' && pkg.version) return { version: pkg.version, node: process.versions.node };
    } catch {
      // try the next candidate
    }
  }
  return { version: '0.0.0', node: process.versions.node };
}
