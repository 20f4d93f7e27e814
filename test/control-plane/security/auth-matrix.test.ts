/**
 * Security suite item 1: the auth matrix. Every route in the registry × every kind of caller, with the
 * expected outcome derived from the route's own `auth` requirement by `expectFor` below — never from a
 * hand-kept table, so a new route is covered the moment it is registered, and a new *kind* of auth
 * requirement fails this file until `expectFor` learns it.
 *
 * Requests go over real loopback HTTP, not `inject`: streaming routes (SSE, NDJSON follows) never end,
 * and a client that reads the status line and hangs up is the only way to test them like the rest.
 *
 * What each requirement means here:
 *   public  → no caller is refused (not 401/403).
 *   user    → anonymous and worker credentials 401; a role without the scope 403; otherwise allowed.
 *   worker  → anonymous and API keys 401; a worker credential for another worker id than the route's
 *             `:workerId` 403; otherwise allowed (the shared token carries every worker scope).
 *   metrics → no token is configured in the harness, so nobody is refused.
 *   signed  → credentials are not consulted at all (the handler checks a signature we do not send), so
 *             never 401; the handler's own refusal (403 bad signature) or a 404 is expected.
 * "Allowed" means the request passed authentication and authorization: the handler then answers with
 * whatever fits a made-up id and an empty body (400, 404, 409...). Whatever the caller, no case may
 * answer 500; the only 5xx tolerated are the documented answers of a control plane with no workers.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { newId } from '../../../src/domain/ids.js';
import { ROLE_SCOPES } from '../../../src/control-plane/auth/principal.js';
import type { AuthRequirement, RouteDef } from '../../../src/control-plane/http/route.js';
import { allRoutes } from '../../../src/control-plane/routes/index.js';
import type { Role } from '../../../src/store/types.js';
import { SHARED_WORKER_TOKEN, startTestControlPlane, type TestControlPlane } from '../support/harness.js';

const MATRIX_WORKER = 'w-matrix';
const OTHER_WORKER = 'w-other';

type CallerSpec =
  | { name: string; kind: 'anonymous' }
  | { name: string; kind: 'user'; role: Role; keyName: keyof TestControlPlane['keys'] }
  | { name: string; kind: 'worker'; workerId: string };

const CALLERS: CallerSpec[] = [
  { name: 'anonymous', kind: 'anonymous' },
  { name: 'viewer (tenant-a)', kind: 'user', role: 'viewer', keyName: 'viewer' },
  { name: 'api (tenant-a)', kind: 'user', role: 'api', keyName: 'apiA' },
  { name: 'api (tenant-b)', kind: 'user', role: 'api', keyName: 'apiB' },
  { name: 'operator', kind: 'user', role: 'operator', keyName: 'operator' },
  { name: 'admin', kind: 'user', role: 'admin', keyName: 'admin' },
  { name: `worker ${MATRIX_WORKER}`, kind: 'worker', workerId: MATRIX_WORKER },
  { name: `worker ${OTHER_WORKER} (another id)`, kind: 'worker', workerId: OTHER_WORKER },
];

type Expectation = { kind: 'refused'; status: 401 | 403 } | { kind: 'allowed' } | { kind: 'not-401' };

/** The expected outcome of `caller` on a route, from the route's auth requirement alone (pure). */
function expectFor(auth: AuthRequirement, path: string, caller: CallerSpec): Expectation {
  switch (auth.kind) {
    case 'public':
    case 'metrics':
      return { kind: 'allowed' };
    case 'signed':
      return { kind: 'not-401' };
    case 'user':
      if (caller.kind !== 'user') return { kind: 'refused', status: 401 };
      return ROLE_SCOPES[caller.role].includes(auth.scope) ? { kind: 'allowed' } : { kind: 'refused', status: 403 };
    case 'worker':
      if (caller.kind !== 'worker') return { kind: 'refused', status: 401 };
      if (path.includes(':workerId') && caller.workerId !== MATRIX_WORKER) return { kind: 'refused', status: 403 };
      return { kind: 'allowed' };
    default: {
      const unknown: never = auth;
      throw new Error(`the auth matrix does not know auth kind ${JSON.stringify(unknown)}: teach expectFor what it means`);
    }
  }
}

const describeExpectation = (e: Expectation) => (e.kind === 'refused' ? String(e.status) : e.kind === 'allowed' ? 'not 401/403' : 'not 401');

/** A syntactically valid id that names nothing, for each kind of path parameter. */
function fakeParam(name: string, collection: string | undefined): string {
  if (name === 'workerId') return MATRIX_WORKER;
  if (name === 'port') return '8080';
  if (name === 'pid' || name === 'processId') return newId('prc', Date.UTC(2030, 0, 1));
  if (name === 'sandboxId') return newId('sbx', Date.UTC(2030, 0, 1));
  if (name === 'taskId') return newId('tsk', Date.UTC(2030, 0, 1));
  switch (collection) {
    case 'sandboxes':
      return newId('sbx', Date.UTC(2030, 0, 1));
    case 'tasks':
      return newId('tsk', Date.UTC(2030, 0, 1));
    case 'keys':
      return newId('key', Date.UTC(2030, 0, 1));
    case 'worker-tokens':
      return newId('wtk', Date.UTC(2030, 0, 1));
    case 'processes':
      return newId('prc', Date.UTC(2030, 0, 1));
    case 'workers':
    case 'worker':
      return 'w-nonexistent';
    case 'tenants':
      return 'no-such-tenant';
    case 'templates':
      return 'no-such-template';
    default:
      return 'nonexistent';
  }
}

function fillPath(path: string): string {
  const segments = path.split('/');
  return segments
    .map((seg, i) => {
      if (seg === '*') return 'x';
      if (!seg.startsWith(':')) return seg;
      const name = seg.slice(1).replace(/\(.*\)$/, '');
      return encodeURIComponent(fakeParam(name, segments[i - 1]));
    })
    .join('/');
}

function headersFor(caller: CallerSpec, t: TestControlPlane): Record<string, string> {
  switch (caller.kind) {
    case 'anonymous':
      return {};
    case 'user':
      return { authorization: `Bearer ${t.keys[caller.keyName]}` };
    case 'worker':
      return { 'x-worker-id': caller.workerId, 'x-worker-token': SHARED_WORKER_TOKEN };
  }
}

/** 5xx answers that are correct for a control plane with no workers, not bugs. */
const TOLERATED_5XX = new Set(['no_capacity', 'worker_unavailable']);

const routes = allRoutes();

/**
 * How long a request may go unanswered before it counts as held by its handler. Not a timing assertion:
 * refusals are decided before any handler runs, so only a request that passed authentication and
 * authorization can be held, and such a request is judged as "allowed" (see the test body).
 */
const HOLD_MS = 3_000;

type Answer = { kind: 'answered'; status: number; code: string | undefined } | { kind: 'held' };

describe('auth matrix: every route × every caller', () => {
  let t: TestControlPlane;
  let base: string;
  before(async () => {
    t = await startTestControlPlane();
    const address = await t.app.listen({ host: '127.0.0.1', port: 0 });
    base = address;
  });
  after(() => t.close());

  it('the registry is non-empty and route ids are unique', () => {
    assert.ok(routes.length > 0);
    const ids = routes.map((r) => r.id);
    assert.deepEqual(ids.filter((id, i) => ids.indexOf(id) !== i), []);
  });

  it('a worker route that names a worker in its path calls the parameter workerId (so the binding check applies)', () => {
    const misnamed = routes.filter((r) => r.auth.kind === 'worker' && /\/workers?\/:(?!workerId\b)/.test(r.path)).map((r) => `${r.method} ${r.path}`);
    assert.deepEqual(misnamed, []);
  });

  it('an auth kind the matrix does not know fails it', () => {
    assert.throws(() => expectFor({ kind: 'telepathy' } as unknown as AuthRequirement, '/x', CALLERS[0]!), /does not know auth kind/);
  });

  for (const route of routes) {
    describe(`${route.method} ${route.path} [${route.id}, auth ${JSON.stringify(route.auth)}]`, () => {
      // One route's eight requests go out together, so a route that holds its answer (a create that
      // waits for capacity, a long poll) costs one HOLD_MS, not eight.
      let answers: Map<string, Answer>;
      before(async () => {
        answers = new Map(await Promise.all(CALLERS.map(async (c) => [c.name, await send(route, c)] as const)));
      });
      for (const caller of CALLERS) {
        const expected = expectFor(route.auth, route.path, caller);
        it(`as ${caller.name} → ${describeExpectation(expected)}`, () => {
          const answer = answers.get(caller.name)!;
          const where = `${route.method} ${route.path} as ${caller.name}: got ${answer.kind === 'held' ? `no answer within ${HOLD_MS} ms` : `${answer.status}${answer.code ? ` (${answer.code})` : ''}`}`;
          if (answer.kind === 'held') {
            // Authentication and authorization run before any handler and answer at once, so a request
            // still held is one the handler accepted: right unless the caller should have been refused.
            assert.notEqual(expected.kind, 'refused', `expected ${expected.kind === 'refused' ? expected.status : ''}: ${where}`);
            return;
          }
          const { status, code } = answer;
          assert.ok(status < 500 || (status < 600 && code !== undefined && TOLERATED_5XX.has(code)), `server error: ${where}`);
          if (expected.kind === 'refused') assert.equal(status, expected.status, `expected ${expected.status}: ${where}`);
          else if (expected.kind === 'allowed') assert.ok(status !== 401 && status !== 403, `expected to pass auth: ${where}`);
          else assert.notEqual(status, 401, `expected not 401: ${where}`);
        });
      }
    });
  }

  async function send(route: RouteDef, caller: CallerSpec): Promise<Answer> {
    const headers = headersFor(caller, t);
    let body: string | undefined;
    if (route.method !== 'GET' && route.method !== 'DELETE') {
      body = route.rawBody ? '' : '{}';
      headers['content-type'] = route.rawBody ? 'application/octet-stream' : 'application/json';
    }
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const held = new Promise<Answer>((resolve) => {
      timer = setTimeout(() => resolve({ kind: 'held' }), HOLD_MS);
    });
    const answered = (async (): Promise<Answer> => {
      const res = await fetch(`${base}${fillPath(route.path)}`, { method: route.method, headers, body, signal: controller.signal });
      const type = res.headers.get('content-type') ?? '';
      // A stream (SSE, NDJSON) or a document: the status line is the answer.
      if (!type.includes('application/json')) return { kind: 'answered', status: res.status, code: undefined };
      const json = (await res.json()) as { error?: { code?: string } };
      return { kind: 'answered', status: res.status, code: json.error?.code };
    })();
    try {
      return await Promise.race([answered, held]);
    } finally {
      clearTimeout(timer);
      // Hang up: ends streams and held requests alike.
      controller.abort();
      answered.catch(() => undefined);
    }
  }
});
