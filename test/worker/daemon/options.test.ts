/**
 * Config.worker → WorkerOptions, and the CLI's flag mapping: defaults resolved from host facts, the
 * id precedence, the advertise-URL refusal, and flags that override only what they name.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { workerFlagsToConfig } from '../../../src/cli/commands/worker.js';
import { loadConfig } from '../../../src/config/index.js';
import { deriveAdvertiseUrl, parseListenAddr } from '../../../src/worker/advertise.js';
import { resolveWorkerOptions, workerIdFromHostname, WorkerConfigError } from '../../../src/worker/options.js';
import { HOST, tempDir, testOptions } from './support/worker.js';

describe('worker options', () => {
  it('id: worker.id wins, else the host name made valid', () => {
    assert.equal(testOptions({ 'worker.id': 'w-7' }).id, 'w-7');
    assert.equal(testOptions({}).id, 'test-host');
    assert.equal(testOptions({}, { ...HOST, hostname: 'Build_Box.Example.COM' }).id, 'build_box.example.com');
    assert.equal(workerIdFromHostname('--My Host!!'), 'my-host-');
    assert.equal(workerIdFromHostname('x'.repeat(80)).length, 63);
    assert.throws(() => workerIdFromHostname('***'), WorkerConfigError);
  });

  it('capacity: detected from the host when absent (CPUs, 80 % of memory, free disk, 16 per CPU); configured values win', () => {
    assert.deepEqual(testOptions({}).capacity, { cpu: 4, memory_mb: 8000, disk_mb: 50_000, max_sandboxes: 64 });
    const set = testOptions({ 'worker.capacity.cpu': 1.5, 'worker.capacity.memory_mb': 2048, 'worker.capacity.disk_mb': 100, 'worker.capacity.max_sandboxes': 3 });
    assert.deepEqual(set.capacity, { cpu: 1.5, memory_mb: 2048, disk_mb: 100, max_sandboxes: 3 });
    assert.deepEqual(testOptions({ 'worker.capacity.max_sandboxes': 5 }).capacity, { cpu: 4, memory_mb: 8000, disk_mb: 50_000, max_sandboxes: 5 });
  });

  it('providers: configured, else what the host supports (mock never by default)', () => {
    assert.deepEqual(testOptions({ 'worker.providers': ['mock', 'process', 'mock'] }).providers, ['mock', 'process']);
    const both = testOptions({}, { ...HOST, defaultProviders: { names: ['bwrap', 'process'], reason: 'bwrap works' } });
    assert.deepEqual(both.providers, ['bwrap', 'process']);
    assert.equal(both.providersReason, 'bwrap works');
  });

  it('labels out of the protocol\'s bounds are refused at start, not by every heartbeat', () => {
    assert.deepEqual(testOptions({ 'worker.labels': { zone: 'a' } }).labels, { zone: 'a' });
    assert.throws(() => testOptions({ 'worker.labels': { ['k'.repeat(64)]: 'v' } }), WorkerConfigError);
    assert.throws(() => testOptions({ 'worker.labels': { k: 'v'.repeat(256) } }), WorkerConfigError);
  });

  it('refuses to start without a token, and says how to give one', () => {
    const config = loadConfig({ env: {}, flags: { 'worker.id': 'w' } });
    assert.throws(() => resolveWorkerOptions(config, HOST), (err: Error) => err instanceof WorkerConfigError && /--worker-token-file/.test(err.message));
  });

  it('advertise URL: 0.0.0.0 / :: is never advertised — neither given nor derived — and the refusal says why', () => {
    for (const listen of ['0.0.0.0:7430', '[::]:7430', ':7430']) {
      assert.throws(
        () => testOptions({ 'worker.listen_addr': listen }),
        (err: Error) => err instanceof WorkerConfigError && /every interface/.test(err.message) && /advertise_url/.test(err.message),
        listen,
      );
      // With an address the control plane can reach, listening on every interface is fine.
      assert.equal(testOptions({ 'worker.listen_addr': listen, 'worker.advertise_url': 'http://10.0.0.5:7430/' }).advertiseUrl, 'http://10.0.0.5:7430');
    }
    for (const url of ['http://0.0.0.0:7430', 'http://[::]:7430', 'https://[0:0:0:0:0:0:0:0]:1']) {
      assert.throws(() => testOptions({ 'worker.advertise_url': url }), (err: Error) => err instanceof WorkerConfigError && /cannot call/.test(err.message), url);
    }
    assert.equal(testOptions({ 'worker.listen_addr': '127.0.0.1:7430' }).advertiseUrl, undefined, 'derived once the port is bound');
    assert.equal(deriveAdvertiseUrl(parseListenAddr('127.0.0.1:0'), 41_000, false), 'http://127.0.0.1:41000');
    assert.equal(deriveAdvertiseUrl(parseListenAddr('[::1]:7430'), 7430, true), 'https://[::1]:7430');
  });

  it('CLI flags map to worker.* keys, and an absent flag overrides nothing (file < env < flags)', () => {
    const dir = tempDir('drover-opts-');
    try {
      const file = join(dir.path, 'drover.yaml');
      writeFileSync(file, 'worker:\n  id: from-file\n  data_dir: /srv/file-dir\n  labels: { zone: a }\n  heartbeat_interval: 9s\n');
      const env = { DROVER_WORKER_ID: 'from-env', DROVER_WORKER_TOKEN: 'tok-env-0123456789' };
      const none = loadConfig({ configFile: file, env, flags: workerFlagsToConfig({}) });
      assert.equal(none.worker.id, 'from-env');
      assert.equal(none.worker.data_dir, '/srv/file-dir');
      assert.equal(none.worker.heartbeat_interval, 9000);
      const flagged = loadConfig({
        configFile: file,
        env,
        flags: workerFlagsToConfig({ id: 'from-flag', heartbeatInterval: '2s', label: ['gpu=true', 'tier=2'], provider: ['mock'], listen: '127.0.0.1:0', dataDir: '/tmp/x' }),
      });
      assert.equal(flagged.worker.id, 'from-flag');
      assert.equal(flagged.worker.heartbeat_interval, 2000);
      assert.deepEqual(flagged.worker.labels, { gpu: 'true', tier: '2' });
      assert.deepEqual(flagged.worker.providers, ['mock']);
      assert.equal(flagged.worker.listen_addr, '127.0.0.1:0');
      assert.equal(flagged.worker.data_dir, '/tmp/x');
    } finally {
      dir.remove();
    }
  });
});
