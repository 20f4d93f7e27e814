/**
 * Workspaces for the file tests: a workspace directory next to an `outside` directory holding a
 * canary, so a test can prove that nothing outside the workspace was read or written.
 */
import { createCipheriv, createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SandboxFiles } from '../../../../src/worker/runtime/files/sandbox-files.js';

export interface FileFixture {
  base: string;
  workspace: string;
  outside: string;
  files: SandboxFiles;
  /** A fingerprint of everything under `outside` (names, sizes, modes, mtimes, contents). */
  outsideFingerprint(): string;
  close(): Promise<void>;
}

export const CANARY = 'canary: must never change\n';

export async function fileFixture(): Promise<FileFixture> {
  const base = await mkdtemp(join(tmpdir(), 'drover-files-'));
  const workspace = join(base, 'workspace');
  const outside = join(base, 'outside');
  await mkdir(workspace);
  await mkdir(join(outside, 'dir'), { recursive: true });
  await writeFile(join(outside, 'canary.txt'), CANARY);
  await writeFile(join(outside, 'dir', 'inner.txt'), 'inner canary\n');
  return {
    base,
    workspace,
    outside,
    files: await SandboxFiles.open(workspace),
    outsideFingerprint: () => fingerprint(outside),
    close: () => rm(base, { recursive: true, force: true }),
  };
}

export function fingerprint(dir: string): string {
  const lines: string[] = [];
  const walk = (path: string, rel: string): void => {
    for (const name of readdirSync(path).sort()) {
      const full = join(path, name);
      const info = lstatSync(full);
      const content = info.isFile() ? createHash('sha256').update(readFileSync(full)).digest('hex') : '';
      lines.push(`${rel}${name} ${info.mode.toString(8)} ${info.size} ${info.mtimeMs} ${content}`);
      if (info.isDirectory()) walk(full, `${rel}${name}/`);
    }
  };
  walk(dir, '');
  return lines.join('\n');
}

/** Temp files an upload may have left in a directory. */
export function leftovers(dir: string): string[] {
  return readdirSync(dir).filter((name) => name.startsWith('.drover-upload-'));
}

/**
 * `size` deterministic pseudo-random bytes (AES-CTR keystream), generated as they are consumed and
 * hashed into `hash` on the way out: 100 MiB never sits in memory.
 */
export async function* generated(size: number, seed: string, hash?: Hash, chunkSize = 1024 * 1024): AsyncGenerator<Buffer> {
  const key = createHash('sha256').update(seed).digest().subarray(0, 16);
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(chunkSize);
  let left = size;
  while (left > 0) {
    const n = Math.min(left, chunkSize);
    const chunk = cipher.update(zeros.subarray(0, n));
    hash?.update(chunk);
    left -= n;
    yield chunk;
  }
}

export async function sha256Of(source: AsyncIterable<Uint8Array>): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of source) {
    hash.update(chunk);
    size += chunk.byteLength;
  }
  return { sha256: hash.digest('hex'), size };
}
