/**
 * Turn a create (or admission) request into the record to insert: look up its template in the
 * caller's tenant, merge, and resolve defaults and limits against the tenant's quota.
 */
import { BadRequest, NotFound } from '../../domain/errors.js';
import { newId } from '../../domain/ids.js';
import { templateSpecSchema, type CreateSandboxRequest, type TemplateSpec } from '../../protocol/sandbox.js';
import { tenantScope, type NewSandbox, type Quota } from '../../store/types.js';
import type { ControlPlane } from '../deps.js';
import { mergeTemplate, resolveSandbox } from './sandbox-spec.js';

export interface ResolvedRequest {
  sandbox: NewSandbox;
  quota: Quota;
}

export async function resolveCreateRequest(cp: ControlPlane, tenantId: string, request: CreateSandboxRequest): Promise<ResolvedRequest> {
  const { template: templateName, wait: _wait, ...overrides } = request;
  const base = templateName === undefined ? {} : await loadTemplateSpec(cp, tenantId, templateName);
  const spec = mergeTemplate(base, overrides);
  const quota = await cp.store.tenants.getQuota(tenantId);
  const sandbox = resolveSandbox(cp.config, { id: newId('sbx', cp.clock.now()), tenantId, template: templateName ?? null, spec, quota });
  return { sandbox, quota };
}

export async function loadTemplateSpec(cp: ControlPlane, tenantId: string, name: string): Promise<TemplateSpec> {
  const record = await cp.store.templates.getTemplate(tenantScope(tenantId), name);
  if (!record) throw new NotFound(`template ${name}`);
  const parsed = templateSpecSchema.safeParse(record.spec);
  // Stored templates were validated on write; this only trips on one written by an older schema.
  if (!parsed.success) throw new BadRequest(`template ${name} no longer matches the template schema; PUT it again`);
  return parsed.data;
}
