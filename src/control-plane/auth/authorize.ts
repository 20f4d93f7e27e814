/**
 * The authorization decision, as a pure function of the route's requirement, the principal and the
 * path parameters. The auth-matrix test calls the real server, but reads its expectations from the
 * same requirement types this function interprets.
 */
import type { AuthRequirement } from '../http/route.js';
import type { Principal } from './principal.js';

export type AuthDecision = { ok: true } | { ok: false; status: 401 | 403; message: string };

export function authorize(req: AuthRequirement, p: Principal, params: Record<string, string | undefined>): AuthDecision {
  switch (req.kind) {
    case 'public':
    case 'signed':
    case 'metrics':
      return { ok: true };
    case 'user':
      // A worker credential never authenticates a user route: it is as good as no credential here.
      if (p.kind !== 'user') return { ok: false, status: 401, message: 'an API key is required' };
      if (!p.scopes.includes(req.scope)) return { ok: false, status: 403, message: `this key's role (${p.role}) lacks the ${req.scope} scope` };
      return { ok: true };
    case 'worker':
      if (p.kind !== 'worker') return { ok: false, status: 401, message: 'worker credentials are required' };
      if (params.workerId !== undefined && params.workerId !== p.workerId) {
        return { ok: false, status: 403, message: 'the worker id in the path does not match the credential' };
      }
      if (!p.scopes.includes(req.scope)) return { ok: false, status: 403, message: `this worker token lacks the ${req.scope} scope` };
      return { ok: true };
  }
}
