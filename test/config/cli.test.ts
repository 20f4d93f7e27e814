import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout root, found from this file so the test runs from dist/ or from sources alike. */
function repoRoot(): string {
  let at = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(at, 'bin', 'drover.js'))) {
    const up = dirname(at);
    assert.notEqual(up, at, 'bin/drover.js not found above the test file');
    at = up;
  }
  return at;
}

const root = repoRoot();
const dir = mkdtempSync(join(tmpdir(), 'drover-config-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the real binary; DROVER_* from the outer environment are dropped so only `env` applies. */
function drover(args: string[], env: Record<string, string> = {}) {
  const outer = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('DROVER_')));
  return spawnSync(process.execPath, [join(root, 'bin', 'drover.js'), ...args], {
    cwd: root,
    env: { ...outer, ...env },
    encoding: 'utf8',
  });
}

describe('drover config', () => {
  const devYaml = join(dir, 'dev.yaml');
  writeFileSync(devYaml, 'server:\n  port: 7423\n');

  test('lint --production on a development config exits 1 and prints the check ids', () => {
    const r = drover(['config', 'lint', '--production', '--file', devYaml]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stdout, /^SEVERITY\s+ID\s+PATH\s+MESSAGE/m);
    for (const id of ['sandboxes.provider', 'artifacts.signing_key', 'server.https']) assert.match(r.stdout, new RegExp(`^error\\s+${id.replace('.', '\\.')}\\s`, 'm'));
    assert.match(r.stdout, /^\s+fix: /m);
  });

  test('lint without --production on the same file is clean', () => {
    const r = drover(['config', 'lint', '--file', devYaml]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /no findings/);
  });

  test('lint --json gives findings to scripts', () => {
    const r = drover(['config', 'lint', '--production', '--json', '--file', devYaml]);
    assert.equal(r.status, 1);
    const out = JSON.parse(r.stdout) as { ok: boolean; findings: { id: string; severity: string }[] };
    assert.equal(out.ok, false);
    assert.ok(out.findings.some((f) => f.id === 'server.https' && f.severity === 'error'));
  });

  test('a config that fails to load lists its problems and exits 1', () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'servr:\n  port: 1\ndatabase:\n  driver: postgres\n');
    const r = drover(['config', 'lint', '--file', bad]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /servr: unknown key/);
    assert.match(r.stderr, /database\.dsn: is required/);
  });

  test('print shows the effective config without the secret', () => {
    const r = drover(['config', 'print', '--file', devYaml], { DROVER_AUTH_ADMIN_API_KEY: 'secret-xyz', DROVER_SERVER_PORT: '9999' });
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /secret-xyz/);
    assert.match(r.stdout, /admin_api_key: <redacted>/);
    assert.match(r.stdout, /port: 9999/);
    const json = drover(['config', 'print', '--json', '--file', devYaml], { DROVER_AUTH_ADMIN_API_KEY: 'secret-xyz' });
    assert.equal(json.status, 0, json.stderr);
    assert.doesNotMatch(json.stdout, /secret-xyz/);
    assert.equal((JSON.parse(json.stdout) as { auth: { admin_api_key: string } }).auth.admin_api_key, '<redacted>');
  });
});
