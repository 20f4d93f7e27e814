import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { execResultView, fileInfoView, processView } from '../../../src/worker/runtime/views.js';

describe('runtime views (02-api.md shapes)', () => {
  it('maps exec results, processes and file metadata to snake_case with RFC 3339 times', () => {
    assert.deepEqual(
      execResultView({ exitCode: 1, signal: null, stdout: 'o', stderr: 'e', encoding: 'utf8', truncated: false, durationMs: 12, timedOut: false }),
      { exit_code: 1, signal: null, stdout: 'o', stderr: 'e', encoding: 'utf8', truncated: false, duration_ms: 12, timed_out: false },
    );
    const t = Date.UTC(2030, 0, 1);
    assert.deepEqual(
      processView({ id: 'prc_x', pid: 9, command: ['sh'], pty: true, running: false, exitCode: null, signal: 'SIGKILL', startedAt: t, exitedAt: t + 1500, firstSeq: 3, lastSeq: 8 }),
      {
        id: 'prc_x',
        pid: 9,
        command: ['sh'],
        pty: true,
        running: false,
        exit_code: null,
        signal: 'SIGKILL',
        started_at: '2030-01-01T00:00:00.000Z',
        exited_at: '2030-01-01T00:00:01.500Z',
        first_seq: 3,
        last_seq: 8,
      },
    );
    assert.deepEqual(
      fileInfoView({ name: 'a', path: '/workspace/a', size: 3, isDir: false, isSymlink: false, mode: 0o644, mtimeMs: t }),
      { name: 'a', path: '/workspace/a', size: 3, is_dir: false, is_symlink: false, mode: 420, mtime: '2030-01-01T00:00:00.000Z' },
    );
  });
});
