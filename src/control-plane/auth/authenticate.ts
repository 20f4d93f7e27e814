/**
 * Resolve a request's credentials to a Principal. User keys (Bearer or X-API-Key) and worker
 * credentials (X-Worker-ID plus X-Worker-Token, or Bearer plus X-Worker-ID) are distinct kinds: a
 * request carrying X-Worker-ID is a worker request and is never looked up as a user key, and vice versa.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { WORKER_ID_PATTERN } from '../../domain/ids.js';
import type { Store } from '../../store/store.js';
import { ALL_WORKER_SCOPES, ROLE_SCOPES, type Principal } from './principal.js';
import { hashSecret, secretsEqual } from './secrets.js';

export interface AuthSettings {
  enabled: boolean;
  /** The configured bootstrap admin key, if any (compared in constant time). */
  adminApiKey: string | undefined;
  /** The tenant the configured admin key belongs to. */
  adminTenant: string;
  sharedWorkerToken: string | undefined;
  perWorkerTokens: Readonly<Record<string, string>>;
}

export type Credentials =
  | { kind: 'none' }
  | { kind: 'user'; key: string }
  | { kind: 'worker'; workerId: string; token: string }
  | { kind: 'malformed' };

export function readCredentials(headers: IncomingHttpHeaders): Credentials {
  const header = (name: string) => {
    const v = headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const bearer = /^Bearer\s+(\S+)$/i.exec(header('authorization') ?? '')?.[1];
  const workerId = header('x-worker-id');
  if (workerId !== undefined) {
    const token = header('x-worker-token') ?? bearer;
    if (!token || !WORKER_ID_PATTERN.test(workerId)) return { kind: 'malformed' };
    return { kind: 'worker', workerId, token };
  }
  const key = bearer ?? header('x-api-key');
  if (key) return { kind: 'user', key };
  if (header('authorization') !== undefined) return { kind: 'malformed' };
  return { kind: 'none' };
}

export async function authenticate(creds: Credentials, settings: AuthSettings, store: Store): Promise<Principal> {
  if (!settings.enabled) {
    // Development mode: every user request is admin; workers still identify themselves.
    if (creds.kind === 'worker') return { kind: 'worker', workerId: creds.workerId, scopes: ALL_WORKER_SCOPES, tokenId: null };
    return { kind: 'user', keyId: 'auth-disabled', role: 'admin', tenantId: settings.adminTenant, scopes: ROLE_SCOPES.admin };
  }
  switch (creds.kind) {
    case 'user':
      return authenticateUser(creds.key, settings, store);
    case 'worker':
      return authenticateWorker(creds.workerId, creds.token, settings, store);
    default:
      return { kind: 'anonymous' };
  }
}

async function authenticateUser(key: string, settings: AuthSettings, store: Store): Promise<Principal> {
  if (settings.adminApiKey !== undefined && secretsEqual(key, settings.adminApiKey)) {
    return { kind: 'user', keyId: 'config-admin', role: 'admin', tenantId: settings.adminTenant, scopes: ROLE_SCOPES.admin };
  }
  const record = await store.credentials.findApiKeyByHash(hashSecret(key));
  if (!record) return { kind: 'anonymous' };
  return { kind: 'user', keyId: record.id, role: record.role, tenantId: record.tenantId, scopes: ROLE_SCOPES[record.role] };
}

async function authenticateWorker(workerId: string, token: string, settings: AuthSettings, store: Store): Promise<Principal> {
  // A per-worker token, when configured for this id, replaces the shared one for it.
  const perWorker = settings.perWorkerTokens[workerId];
  if (perWorker !== undefined) {
    if (secretsEqual(token, perWorker)) return { kind: 'worker', workerId, scopes: ALL_WORKER_SCOPES, tokenId: null };
  } else if (settings.sharedWorkerToken !== undefined && secretsEqual(token, settings.sharedWorkerToken)) {
    return { kind: 'worker', workerId, scopes: ALL_WORKER_SCOPES, tokenId: null };
  }
  const issued = await store.credentials.findWorkerTokenByHash(hashSecret(token));
  if (issued && (issued.workerId === null || issued.workerId === workerId)) {
    return { kind: 'worker', workerId, scopes: issued.scopes, tokenId: issued.id };
  }
  return { kind: 'anonymous' };
}
