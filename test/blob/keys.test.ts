import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isUnderPrefix, normalizeKey, normalizePrefix } from '../../src/blob/keys.js';
import { BadRequest } from '../../src/domain/errors.js';

const rejects = (key: unknown): void => {
  assert.throws(() => normalizeKey(key), BadRequest, `accepted ${JSON.stringify(key)}`);
};

describe('normalizeKey', () => {
  it('accepts ordinary relative keys unchanged', () => {
    for (const key of ['a', 'tasks/t_1/out.json', 'a/b/c.tar.gz', 'with space/and+plus', '100%.txt', 'a%41', '.hidden/x', 'a..b', '...', 'ünï/cødé']) {
      assert.equal(normalizeKey(key), key);
    }
  });

  it('returns the NFC form, so one visible name is one key', () => {
    const decomposed = 'cafe\u0301'; // e + combining acute
    assert.equal(normalizeKey(decomposed), 'caf\u00e9');
  });

  it('refuses traversal and absolute keys', () => {
    for (const key of ['..', '../x', 'a/..', 'a/../b', '.', './a', 'a/./b', '/a', '/', '//a']) rejects(key);
  });

  it('refuses empty keys and empty segments', () => {
    for (const key of ['', 'a//b', 'a/', 'a/b/']) rejects(key);
  });

  it('refuses backslashes, NUL and control characters', () => {
    for (const key of ['a\\b', '..\\x', 'a\0b', '\0', 'a\nb', 'a\rb', 'a\tb', 'a\u007fb', 'a\u0085b']) rejects(key);
  });

  it('refuses percent-encoded separators, dots, percents and controls, in either case', () => {
    for (const key of ['%2e%2e', '%2E%2E/x', 'a/%2e%2e/b', '.%2e/x', 'a%2fb', 'a%2Fb', 'a%5cb', 'a%00b', 'a%0ab', 'a%1Fb', 'a%7fb', '%252e%252e', '%c0%ae%c0%ae']) {
      rejects(key);
    }
  });

  it('refuses keys over 1024 UTF-8 bytes and segments over 255', () => {
    const atLimit = `${'a'.repeat(255)}/${'b'.repeat(255)}/${'c'.repeat(255)}/${'d'.repeat(254)}/e`;
    assert.equal(Buffer.byteLength(atLimit), 1024);
    assert.equal(normalizeKey(atLimit), atLimit);
    rejects(`${atLimit}e`);
    rejects('a/'.repeat(512) + 'a');
    rejects('é'.repeat(513)); // 1026 bytes in 513 characters
    rejects('x'.repeat(256));
  });

  it('refuses non-strings and lone surrogates', () => {
    for (const key of [undefined, null, 42, ['a'], '\ud800', 'a\udc00b']) rejects(key);
  });

  it('never lets a key it accepts climb out of its root', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('a', '.', '..', '/', '\\', '%2e', '%2f', '%', '2e', '\0', 'é'), { maxLength: 12 }), (parts) => {
        let key: string;
        try {
          key = normalizeKey(parts.join(''));
        } catch (err) {
          return err instanceof BadRequest;
        }
        const segments = key.split('/');
        return !key.startsWith('/') && !key.includes('\\') && !key.includes('\0') && segments.every((s) => s !== '' && s !== '.' && s !== '..') && !/%2[ef]/i.test(key);
      }),
    );
  });
});

describe('normalizePrefix', () => {
  it('allows the empty prefix and a trailing slash, and otherwise applies key rules', () => {
    assert.equal(normalizePrefix(''), '');
    assert.equal(normalizePrefix('tasks/'), 'tasks/');
    assert.equal(normalizePrefix('tasks/t_1'), 'tasks/t_1');
    for (const prefix of ['/', '../', 'a//', '/tasks/', 'a\0', 'tasks//']) {
      assert.throws(() => normalizePrefix(prefix), BadRequest, prefix);
    }
  });
});

describe('isUnderPrefix', () => {
  it('grants keys inside the folder, with or without its trailing slash', () => {
    assert.equal(isUnderPrefix('tasks/t_1/out.json', 'tasks/t_1/'), true);
    assert.equal(isUnderPrefix('tasks/t_1/a/b', 'tasks/t_1'), true);
  });

  it('refuses a sibling sharing the prefix as a string, the folder itself, and other folders', () => {
    assert.equal(isUnderPrefix('tasks/t_10/out.json', 'tasks/t_1'), false);
    assert.equal(isUnderPrefix('tasks/t_1', 'tasks/t_1/'), false);
    assert.equal(isUnderPrefix('tasks/t_2/x', 'tasks/t_1/'), false);
  });

  it('refuses traversal out of the folder instead of throwing', () => {
    assert.equal(isUnderPrefix('tasks/t_1/../t_2/x', 'tasks/t_1/'), false);
    assert.equal(isUnderPrefix('tasks/t_1/%2e%2e/t_2/x', 'tasks/t_1/'), false);
    assert.equal(isUnderPrefix('tasks/t_1/a\\..\\..\\t_2', 'tasks/t_1/'), false);
  });

  it('grants nothing for an empty or invalid prefix', () => {
    assert.equal(isUnderPrefix('tasks/t_1/x', ''), false);
    assert.equal(isUnderPrefix('tasks/t_1/x', '../'), false);
  });

  it('compares canonical forms', () => {
    assert.equal(isUnderPrefix('cafe\u0301/x', 'caf\u00e9/'), true);
  });
});
