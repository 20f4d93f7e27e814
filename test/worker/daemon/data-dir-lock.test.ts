/** One worker per data dir: a live holder refuses the start; a dead one's lock is taken over. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DataDirBusy, lockDataDir } from '../../../src/worker/data-dir-lock.js';
import { tempDir } from './support/worker.js';

describe('data dir lock', () => {
  it('refuses while another live process holds it, takes over a dead holder, and releases', async () => {
    const dir = tempDir('drover-lock-');
    try {
      const pidFile = join(dir.path, 'worker.pid');
      writeFileSync(pidFile, `${process.ppid}\n`);
      await assert.rejects(lockDataDir(dir.path), (err: Error) => err instanceof DataDirBusy && err.message.includes(String(process.ppid)));

      const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
      writeFileSync(pidFile, `${dead}\n`);
      const lock = await lockDataDir(dir.path);
      assert.equal(readFileSync(pidFile, 'utf8').trim(), String(process.pid));
      await lock.release();
      assert.ok(!existsSync(pidFile));

      const fresh = await lockDataDir(join(dir.path, 'not-yet-created'));
      await fresh.release();
    } finally {
      dir.remove();
    }
  });
});
