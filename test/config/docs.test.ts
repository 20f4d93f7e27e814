import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHECK_IDS, configKeys, envName } from '../../src/config/index.js';

function docsFile(): string {
  let at = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(at, 'docs', 'configuration.md'))) {
    const up = dirname(at);
    assert.notEqual(up, at, 'docs/configuration.md not found');
    at = up;
  }
  return join(at, 'docs', 'configuration.md');
}

// The docs are written by hand; this keeps them from silently missing a key added to the schema.
test('docs/configuration.md names every key and its environment variable', () => {
  const docs = readFileSync(docsFile(), 'utf8');
  for (const { path } of configKeys()) {
    assert.ok(docs.includes(`\`${path}\``), `${path} is not documented`);
    assert.ok(docs.includes(`\`${envName(path)}\``), `${envName(path)} is not documented`);
  }
});

test('docs/configuration.md lists every lint check id', () => {
  const docs = readFileSync(docsFile(), 'utf8');
  const missing = CHECK_IDS.filter((id) => !docs.includes(`| \`${id}\` |`));
  assert.deepEqual(missing, [], 'lint ids missing from the checks table');
});
