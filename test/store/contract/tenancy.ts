import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BadRequest } from '../../../src/domain/errors.js';
import { allTenants, tenantScope } from '../../../src/store/types.js';
import type { OpenedStore, StoreFixture } from '../fixtures.js';
import { id, newSandbox, newTask, tenant } from './helpers.js';

export function tenancyContract(fixture: StoreFixture): void {
  describe(`tenancy and pagination [${fixture.name}]`, () => {
    let s: OpenedStore;
    let a: string;
    let b: string;
    before(async () => {
      s = await fixture.open();
      a = await tenant(s.store, 'tenant-a');
      b = await tenant(s.store, 'tenant-b');
    });
    after(() => s.close());

    it("every tenant-owned read is scoped: B sees nothing of A's", async () => {
      const A = tenantScope(a);
      const B = tenantScope(b);
      const sbx = await s.store.sandboxes.createSandbox(newSandbox(a));
      const { task } = await s.store.tasks.submitTask(newTask(a));
      await s.store.templates.putTemplate(a, 'py', { image: 'python' });
      const key = await s.store.credentials.createApiKey({ id: id('key'), tenantId: a, name: 'k', role: 'api', keyHash: `h-${sbx.id}` });
      await s.store.audit.append({ actorType: 'key', actorId: key.id, tenantId: a, action: 'sandbox.create', resourceType: 'sandbox', resourceId: sbx.id, outcome: 'ok', requestId: 'r1', remoteAddr: null });
      await s.store.events.appendEvent({ type: 'sandbox.created', tenantId: a, resourceType: 'sandbox', resourceId: sbx.id, data: {} });

      assert.equal((await s.store.sandboxes.getSandbox(A, sbx.id))?.id, sbx.id);
      assert.equal(await s.store.sandboxes.getSandbox(B, sbx.id), undefined);
      assert.equal((await s.store.sandboxes.listSandboxes(B, {}, { limit: 100 })).items.length, 0);
      assert.equal(await s.store.sandboxes.extendSandbox(B, sbx.id, 10_000), undefined);
      assert.equal(await s.store.tasks.getTask(B, task.id), undefined);
      assert.equal(await s.store.tasks.requestCancel(B, task.id), undefined);
      assert.equal((await s.store.tasks.getTask(A, task.id))?.state, 'queued', 'B cancelling must not touch A');
      assert.equal((await s.store.tasks.listTasks(B, {}, { limit: 100 })).items.length, 0);
      assert.equal(await s.store.templates.getTemplate(B, 'py'), undefined);
      assert.equal(await s.store.templates.deleteTemplate(B, 'py'), false);
      assert.equal((await s.store.credentials.listApiKeys(B, { limit: 100 })).items.length, 0);
      assert.equal((await s.store.audit.list(B, {}, { limit: 100 })).items.length, 0);
      assert.equal((await s.store.events.listEvents(B, { afterSeq: 0, limit: 100 })).length, 0);

      assert.equal((await s.store.sandboxes.listSandboxes(A, {}, { limit: 100 })).items.length, 1);
      assert.equal((await s.store.audit.list(A, {}, { limit: 100 })).items.length, 1);
      assert.equal((await s.store.events.listEvents(A, { afterSeq: 0, limit: 100 })).length, 1);
      assert.ok((await s.store.sandboxes.listSandboxes(allTenants, {}, { limit: 100 })).items.some((x) => x.id === sbx.id));
    });

    it('pages cover a list exactly once, newest first, and reject a forged cursor', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 25; i++) ids.push((await s.store.tasks.submitTask(newTask(b, { kind: 'page' }))).task.id);
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await s.store.tasks.listTasks(tenantScope(b), { kind: 'page' }, { limit: 10, cursor });
        seen.push(...page.items.map((x) => x.id));
        cursor = page.nextCursor ?? undefined;
        pages += 1;
      } while (cursor);
      assert.equal(pages, 3);
      assert.deepEqual(seen, [...ids].reverse());
      await assert.rejects(s.store.tasks.listTasks(tenantScope(b), {}, { limit: 10, cursor: 'not-a-cursor' }), BadRequest);
    });

    it('sandbox filters by state, worker and labels', async () => {
      const x = await s.store.sandboxes.createSandbox(newSandbox(b, { labels: { team: 'ml', env: 'dev' } }));
      await s.store.sandboxes.createSandbox(newSandbox(b, { labels: { team: 'mlx' } }));
      const byLabel = await s.store.sandboxes.listSandboxes(tenantScope(b), { labels: { team: 'ml' } }, { limit: 100 });
      assert.deepEqual(byLabel.items.map((i) => i.id), [x.id]);
      assert.equal((await s.store.sandboxes.listSandboxes(tenantScope(b), { state: 'running' }, { limit: 100 })).items.length, 0);
    });
  });
}
