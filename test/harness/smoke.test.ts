// Always runs, so a run whose every other suite skipped still executes at least one test and the
// summary can never read "# tests 0".
import assert from 'node:assert/strict';
import { test } from 'node:test';

test('the test runner runs compiled tests', () => {
  assert.equal(typeof import.meta.url, 'string');
});
