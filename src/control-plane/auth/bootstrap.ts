/**
 * The first admin key. With `auth.admin_api_key` configured there is nothing to do. Otherwise, on the
 * first start against an empty store, create one, write it to `<data dir>/admin.key` (mode 0600) and
 * return it so the caller prints it once; later starts find an admin key and create nothing.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { newId } from '../../domain/ids.js';
import type { Clock } from '../../domain/clock.js';
import type { Store } from '../../store/store.js';
import { generateSecret, hashSecret } from './secrets.js';

export const DEFAULT_TENANT = 'default';

export async function bootstrapAdminKey(store: Store, clock: Clock, keyFile: string): Promise<{ key: string; id: string; file: string } | undefined> {
  await store.tenants.ensureTenant(DEFAULT_TENANT);
  const existing = await store.credentials.listApiKeys({ kind: 'all' }, { limit: 1000 });
  if (existing.items.some((k) => k.role === 'admin' && k.revokedAt === null)) return undefined;
  const key = generateSecret('drv');
  const record = await store.credentials.createApiKey({ id: newId('key', clock.now()), tenantId: DEFAULT_TENANT, name: 'bootstrap admin', role: 'admin', keyHash: hashSecret(key) });
  mkdirSync(dirname(keyFile), { recursive: true });
  writeFileSync(keyFile, `${key}\n`, { mode: 0o600 });
  return { key, id: record.id, file: keyFile };
}
