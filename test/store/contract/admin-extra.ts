/** Contract for the tenant queries the administration routes added: createTenant, tenantHoldings, purgeTenant. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { tenantScope } from '../../../src/store/types.js';
import type { OpenedStore, StoreFixture } from '../fixtures.js';
import { id, newSandbox, newTask, tenant } from './helpers.js';

export function adminExtraContract(fixture: StoreFixture): void {
  describe(`tenant administration [${fixture.name}]`, () => {
    let s: OpenedStore;
    before(async () => (s = await fixture.open()));
    after(() => s.close());

    it('createTenant creates once and reports an existing id as undefined', async () => {
      const created = await s.store.tenants.createTenant('adm-new', 'New Co');
      assert.deepEqual({ id: created?.id, name: created?.name }, { id: 'adm-new', name: 'New Co' });
      assert.equal(await s.store.tenants.createTenant('adm-new', 'Other'), undefined);
      assert.equal((await s.store.tenants.getTenant('adm-new'))?.name, 'New Co', 'the existing tenant is untouched');
    });

    it('tenantHoldings counts only what is live', async () => {
      const t = await tenant(s.store);
      assert.deepEqual(await s.store.tenants.tenantHoldings(t), { sandboxes: 0, tasks: 0, templates: 0, apiKeys: 0 });
      await s.store.sandboxes.createSandbox(newSandbox(t));
      const dead = await s.store.sandboxes.createSandbox(newSandbox(t));
      await s.store.sandboxes.transitionSandbox(dead.id, { from: ['pending'], to: 'stopped' });
      await s.store.tasks.submitTask(newTask(t));
      const { task: cancelled } = await s.store.tasks.submitTask(newTask(t));
      await s.store.tasks.requestCancel(tenantScope(t), cancelled.id);
      await s.store.templates.putTemplate(t, 'tpl', {});
      await s.store.credentials.createApiKey({ id: id('key'), tenantId: t, name: null, role: 'api', keyHash: `live-${t}` });
      const revoked = await s.store.credentials.createApiKey({ id: id('key'), tenantId: t, name: null, role: 'api', keyHash: `revoked-${t}` });
      await s.store.credentials.revokeApiKey(revoked.id);
      assert.deepEqual(await s.store.tenants.tenantHoldings(t), { sandboxes: 1, tasks: 1, templates: 1, apiKeys: 1 });
    });

    it('purgeTenant refuses while anything is live, then removes the tenant with its history', async () => {
      const t = await tenant(s.store);
      assert.deepEqual(await s.store.tenants.purgeTenant('adm-missing'), { kind: 'not_found' });
      const sbx = await s.store.sandboxes.createSandbox(newSandbox(t));
      const { task } = await s.store.tasks.submitTask(newTask(t));
      const key = await s.store.credentials.createApiKey({ id: id('key'), tenantId: t, name: null, role: 'viewer', keyHash: `purge-${t}` });
      await s.store.tenants.putQuota(t, { maxSandboxes: 1, maxCpuMilli: null, maxMemoryMb: null, maxTtlMs: null, maxRunningTasks: null, maxExecTimeoutMs: null });

      assert.deepEqual(await s.store.tenants.purgeTenant(t), { kind: 'in_use', holdings: { sandboxes: 1, tasks: 1, templates: 0, apiKeys: 1 } });
      assert.ok(await s.store.tenants.getTenant(t), 'a refused purge changes nothing');
      assert.ok(await s.store.sandboxes.getSandbox(tenantScope(t), sbx.id));

      await s.store.sandboxes.transitionSandbox(sbx.id, { from: ['pending'], to: 'failed' });
      await s.store.tasks.requestCancel(tenantScope(t), task.id);
      await s.store.credentials.revokeApiKey(key.id);
      assert.deepEqual(await s.store.tenants.purgeTenant(t), { kind: 'deleted' });
      assert.equal(await s.store.tenants.getTenant(t), undefined);
      assert.equal(await s.store.sandboxes.getSandbox(tenantScope(t), sbx.id), undefined);
      assert.equal(await s.store.tasks.getTask(tenantScope(t), task.id), undefined);
      assert.equal((await s.store.credentials.listApiKeys(tenantScope(t), { limit: 10 })).items.length, 0);
      // The quota went with it: a tenant re-created under the same id starts unlimited.
      await s.store.tenants.ensureTenant(t);
      assert.equal((await s.store.tenants.getQuota(t)).maxSandboxes, null);
    });
  });
}
