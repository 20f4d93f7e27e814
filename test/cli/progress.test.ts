/** The CLI spinner: silent unless stderr is a terminal; on a terminal it draws, then erases itself. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { withProgress } from '../../src/cli/progress.js';

function fakeStream(isTTY: boolean) {
  const writes: string[] = [];
  let onWrite: (() => void) | undefined;
  return {
    isTTY,
    writes,
    write(text: string) {
      writes.push(text);
      onWrite?.();
      return true;
    },
    /** Resolves at the next write. */
    nextWrite: () => new Promise<void>((resolve) => (onWrite = resolve)),
  };
}

describe('cli: withProgress', () => {
  it('writes nothing when the stream is not a terminal, and passes the result through', async () => {
    const s = fakeStream(false);
    assert.equal(await withProgress('working', async () => 42, s), 42);
    assert.deepEqual(s.writes, []);
  });

  it('on a terminal: draws the label while the work runs, erases the line when it settles', async () => {
    const s = fakeStream(true);
    // The work finishes only once the spinner has drawn, whatever the machine's speed.
    const result = await withProgress('creating sandbox', async () => {
      await s.nextWrite();
      return 'done';
    }, s);
    assert.equal(result, 'done');
    assert.ok(s.writes[0]!.startsWith('\r\u001b[2K'), 'each frame redraws the line');
    assert.match(s.writes[0]!, /\S creating sandbox/);
    assert.equal(s.writes.at(-1), '\r\u001b[2K', 'the last write clears the line');
  });

  it('erases the line and rethrows when the work fails', async () => {
    const s = fakeStream(true);
    await assert.rejects(
      withProgress('x', async () => {
        await s.nextWrite();
        throw new Error('boom');
      }, s),
      /boom/,
    );
    assert.equal(s.writes.at(-1), '\r\u001b[2K');
  });

  it('a call that finishes before the delay never draws', async () => {
    const s = fakeStream(true);
    await withProgress('fast', async () => 1, s);
    assert.deepEqual(s.writes, []);
  });
});
