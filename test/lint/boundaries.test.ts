/**
 * The import-boundary rule must actually fire: lint a worker file that imports the store and a domain
 * file that imports the control plane, and expect errors; a worker importing domain is fine.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';

const root = fileURLToPath(new URL('../../../', import.meta.url));

async function lint(path: string, code: string): Promise<string[]> {
  const eslint = new ESLint({ cwd: root });
  const [result] = await eslint.lintText(code, { filePath: `${root}${path}` });
  return result!.messages.map((m) => m.ruleId ?? m.message);
}

describe('import boundaries', () => {
  it('worker may not import store or control-plane', async () => {
    assert.ok((await lint('src/worker/probe.ts', "import { openStore } from '../store/index.js';\nexport const x = openStore;\n")).includes('no-restricted-imports'));
    assert.ok((await lint('src/worker/a/probe.ts', "import { x } from '../../control-plane/server.js';\nexport const y = x;\n")).includes('no-restricted-imports'));
  });
  it('domain imports nothing outside itself', async () => {
    assert.ok((await lint('src/domain/probe.ts', "import { x } from '../control-plane/server.js';\nexport const y = x;\n")).includes('no-restricted-imports'));
  });
  it('control-plane may not import worker', async () => {
    assert.ok((await lint('src/control-plane/probe.ts', "import { x } from '../worker/daemon.js';\nexport const y = x;\n")).includes('no-restricted-imports'));
  });
  it('inward imports are allowed', async () => {
    assert.deepEqual(await lint('src/worker/probe.ts', "import { newId } from '../domain/ids.js';\nexport const x = newId;\n"), []);
  });
});
