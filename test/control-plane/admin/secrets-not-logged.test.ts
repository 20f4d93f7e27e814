/**
 * Security suite item 7, for the credentials the admin routes mint: with every log line captured (at
 * trace level), create, use, misuse, replay and revoke API keys and worker tokens, then search the
 * logs for every secret involved (and its hash, which identifies it).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { hashSecret } from '../../../src/control-plane/auth/secrets.js';
import { SHARED_WORKER_TOKEN, startTestControlPlane, type TestControlPlane } from '../support/harness.js';

describe('secrets never reach the logs', () => {
  const lines: string[] = [];
  let t: TestControlPlane;
  before(async () => (t = await startTestControlPlane({ logLines: lines })));
  after(() => t.close());

  it('keys and worker tokens created, used, refused and revoked leave no trace in the logs', async (ctx) => {
    const secrets = [SHARED_WORKER_TOKEN, ...Object.values(t.keys)];
    const key = await t.request('POST', '/api/v1/admin/keys', { key: t.keys.admin, body: { role: 'api', tenant_id: 'logs' }, headers: { 'idempotency-key': 'log-1' } });
    const minted = key.json<{ id: string; key: string }>();
    secrets.push(minted.key);
    await t.request('POST', '/api/v1/admin/keys', { key: t.keys.admin, body: { role: 'api', tenant_id: 'logs' }, headers: { 'idempotency-key': 'log-1' } });
    await t.request('GET', '/api/v1/quota', { key: minted.key });
    await t.request('GET', '/api/v1/admin/keys', { key: minted.key });
    await t.request('DELETE', `/api/v1/admin/keys/${minted.id}`, { key: t.keys.admin });
    await t.request('GET', '/api/v1/quota', { key: minted.key });
    await t.request('GET', '/api/v1/quota', { headers: { 'x-api-key': minted.key } });

    const tok = (await t.request('POST', '/api/v1/admin/worker-tokens', { key: t.keys.admin, body: { worker_id: 'w-log', ttl_ms: 60_000 } })).json<{ id: string; token: string }>();
    secrets.push(tok.token);
    await t.request('POST', '/api/v1/worker/w-log/heartbeat', { worker: { id: 'w-log', token: tok.token }, body: {} });
    await t.request('POST', '/api/v1/worker/w-other/heartbeat', { worker: { id: 'w-other', token: tok.token }, body: {} });
    await t.request('GET', '/api/v1/admin/keys', { worker: { id: 'w-log', token: tok.token } });
    t.clock.advance(60_000);
    await t.request('POST', '/api/v1/worker/w-log/heartbeat', { worker: { id: 'w-log', token: tok.token }, body: {} });
    await t.request('DELETE', `/api/v1/admin/worker-tokens/${tok.id}`, { key: t.keys.admin });

    // A secret pasted into a body, a query string and a malformed body.
    const pasted = 'drv_pasted-into-a-body-0123456789abcdef';
    secrets.push(pasted);
    await t.request('POST', '/api/v1/admin/keys', { key: t.keys.admin, body: { role: 'api', tenant_id: 'logs', name: pasted, extra: pasted } });
    await t.request('GET', `/api/v1/admin/keys?cursor=${pasted}`, { key: t.keys.admin });
    await t.request('POST', '/api/v1/admin/keys', { key: t.keys.admin, payload: `{"name": "${pasted}"`, headers: { 'content-type': 'application/json' } });
    await t.request('GET', '/api/v1/quota', { key: pasted });

    // The capture works (a line the control plane's logger writes arrives here), so a leak would be seen.
    t.cp.log.info({ probe: 'capture-check' }, 'probe');
    assert.ok(lines.some((l) => l.includes('capture-check')), 'the logs are captured');
    ctx.diagnostic(`${lines.length} log lines searched`);
    for (const secret of secrets) {
      for (const needle of [secret, hashSecret(secret)]) {
        const leak = lines.find((l) => l.includes(needle));
        assert.equal(leak, undefined, `a secret (${needle.slice(0, 6)}…) was logged: ${leak?.slice(0, 200)}`);
      }
    }
  });
});
