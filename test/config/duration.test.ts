import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, parseByteSize, parseDuration } from '../../src/domain/duration.js';

describe('parseDuration', () => {
  test('numbers and digit strings are milliseconds', () => {
    assert.equal(parseDuration(1500), 1500);
    assert.equal(parseDuration(0), 0);
    assert.equal(parseDuration('15000'), 15000);
  });

  test('single units', () => {
    assert.equal(parseDuration('500ms'), 500);
    assert.equal(parseDuration('5s'), 5_000);
    assert.equal(parseDuration('30m'), 1_800_000);
    assert.equal(parseDuration('2h'), 7_200_000);
    assert.equal(parseDuration('1d'), 86_400_000);
    assert.equal(parseDuration(' 5s '), 5_000);
  });

  test('compounds and fractions', () => {
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('1m30s500ms'), 90_500);
    assert.equal(parseDuration('1.5s'), 1_500);
  });

  test('rejects negatives, garbage and fractional milliseconds with a clear message', () => {
    assert.throws(() => parseDuration(-1), /must not be negative/);
    assert.throws(() => parseDuration('-5s'), /must not be negative/);
    assert.throws(() => parseDuration(''), /empty/);
    assert.throws(() => parseDuration('5 parsecs'), /not a duration.*ms, s, m, h, d/);
    assert.throws(() => parseDuration('5x'), /not a duration/);
    assert.throws(() => parseDuration('h'), /not a duration/);
    assert.throws(() => parseDuration(1.5), /write a unit/);
    assert.throws(() => parseDuration(Number.NaN), /finite/);
  });

  test('formatDuration is compact and round-trips', () => {
    assert.equal(formatDuration(0), '0ms');
    assert.equal(formatDuration(5_400_000), '1h30m');
    assert.equal(formatDuration(1_500), '1s500ms');
    assert.equal(formatDuration(90_061_001), '1d1h1m1s1ms');
    assert.equal(formatDuration(-5_000), '-5s');
    for (const ms of [1, 999, 1_000, 61_000, 3_600_000, 86_400_000 * 3 + 7]) {
      assert.equal(parseDuration(formatDuration(ms)), ms);
    }
  });
});

describe('parseByteSize', () => {
  test('binary and decimal units, numbers as bytes', () => {
    assert.equal(parseByteSize('1MiB'), 1_048_576);
    assert.equal(parseByteSize('512KiB'), 524_288);
    assert.equal(parseByteSize('10MB'), 10_000_000);
    assert.equal(parseByteSize('1 GiB'), 1024 ** 3);
    assert.equal(parseByteSize('1mib'), 1_048_576);
    assert.equal(parseByteSize('2048'), 2048);
    assert.equal(parseByteSize(1_048_576), 1_048_576);
    assert.equal(parseByteSize('1.5KiB'), 1536);
  });

  test('rejects negatives and garbage', () => {
    assert.throws(() => parseByteSize(-1), /must not be negative/);
    assert.throws(() => parseByteSize('-1MiB'), /not a byte size/);
    assert.throws(() => parseByteSize('lots'), /not a byte size/);
    assert.throws(() => parseByteSize('1 parsec'), /not a byte size/);
    assert.throws(() => parseByteSize(0.5), /whole number/);
  });
});
