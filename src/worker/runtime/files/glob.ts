/**
 * glob: match a pattern (glob-pattern.ts) against the workspace. The literal head of the pattern is
 * resolved like any path (it may go through symlinks that stay inside); from there the walk uses
 * directory descriptors and lstat, so it never descends through a symlink. Both the number of results
 * and the number of entries examined are bounded, so `**` over a huge tree answers (truncated) instead
 * of running for minutes.
 */
import { lstat, readdir } from 'node:fs/promises';
import type { Workspace } from './confine.js';
import { resolveInWorkspace, sandboxPathOf } from './confine.js';
import type { PinnedDir } from './dir.js';
import { skipVanished, withDir } from './dir.js';
import { fsError } from './fs-errors.js';
import type { Segment } from './glob-pattern.js';
import { compileGlob } from './glob-pattern.js';
import type { FileInfo, Listing } from './metadata.js';
import { fileInfo, statPath } from './metadata.js';

export interface GlobOptions {
  /** Most results returned (default 1,000). */
  limit?: number | undefined;
  /** Most directory entries examined (default 100,000). */
  maxVisited?: number | undefined;
}

class Budget {
  readonly found = new Map<string, FileInfo>();
  visited = 0;
  exhausted = false;
  constructor(
    private readonly limit: number,
    private readonly maxVisited: number,
  ) {}
  visit(): boolean {
    if (++this.visited > this.maxVisited) this.exhausted = true;
    return !this.exhausted;
  }
  emit(entry: FileInfo): void {
    if (this.found.size >= this.limit && !this.found.has(entry.path)) this.exhausted = true;
    else this.found.set(entry.path, entry);
  }
}

export async function globPaths(ws: Workspace, pattern: string, options: GlobOptions = {}): Promise<Listing> {
  const { base, rest } = compileGlob(pattern);
  const basePath = sandboxPathOf(base);
  const start = await resolveInWorkspace(ws, basePath);
  if (!start.exists) return { items: [], truncated: false };
  if (rest.length === 0) return { items: [await statPath(ws, basePath)], truncated: false };
  const budget = new Budget(options.limit ?? 1000, options.maxVisited ?? 100_000);
  try {
    const isDir = (await lstat(start.host)).isDirectory();
    if (isDir) await withDir(ws, start.host, (dir) => match(dir, basePath, rest, 0, budget));
  } catch (err) {
    throw fsError(err, basePath);
  }
  const items = [...budget.found.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { items, truncated: budget.exhausted };
}

async function match(dir: PinnedDir, path: string, rest: Segment[], index: number, budget: Budget): Promise<void> {
  const segment = rest[index]!;
  const last = index === rest.length - 1;
  if (segment.kind === 'globstar') {
    if (last) return everything(dir, path, budget);
    await match(dir, path, rest, index + 1, budget); // ** as zero directories
    for (const entry of await entries(dir, path, budget)) {
      if (entry.isDir && !entry.name.startsWith('.')) await descend(dir, entry, rest, index, budget);
    }
    return;
  }
  const candidates =
    segment.kind === 'literal'
      ? await one(dir, path, segment.name, budget)
      : (await entries(dir, path, budget)).filter((e) => segment.regex.test(e.name));
  for (const entry of candidates) {
    if (budget.exhausted) return;
    if (last) budget.emit(entry);
    else if (entry.isDir) await descend(dir, entry, rest, index + 1, budget);
  }
}

async function everything(dir: PinnedDir, path: string, budget: Budget): Promise<void> {
  for (const entry of await entries(dir, path, budget)) {
    if (budget.exhausted || entry.name.startsWith('.')) continue;
    budget.emit(entry);
    if (entry.isDir) {
      const child = await dir.openDir(entry.name).catch(skipVanished);
      if (child === undefined) continue;
      try {
        await everything(child, entry.path, budget);
      } finally {
        await child.close();
      }
    }
  }
}

async function descend(dir: PinnedDir, entry: FileInfo, rest: Segment[], index: number, budget: Budget): Promise<void> {
  if (budget.exhausted) return;
  const child = await dir.openDir(entry.name).catch(skipVanished); // vanished or swapped: skipped
  if (child === undefined) return;
  try {
    await match(child, entry.path, rest, index, budget);
  } finally {
    await child.close();
  }
}

async function entries(dir: PinnedDir, path: string, budget: Budget): Promise<FileInfo[]> {
  const out: FileInfo[] = [];
  for (const name of (await readdir(dir.self())).sort()) {
    if (!budget.visit()) break;
    const info = await lstat(dir.at(name)).catch(() => undefined);
    if (info !== undefined) out.push(fileInfo(name, `${path}/${name}`, info));
  }
  return out;
}

async function one(dir: PinnedDir, path: string, name: string, budget: Budget): Promise<FileInfo[]> {
  if (!budget.visit()) return [];
  const info = await lstat(dir.at(name)).catch(() => undefined);
  return info === undefined ? [] : [fileInfo(name, `${path}/${name}`, info)];
}
