import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger, LOG_CENSOR } from '../../../src/control-plane/observability/logger.js';
import { prettyLine } from '../../../src/control-plane/observability/pretty.js';

const capture = () => {
  const lines: string[] = [];
  return { lines, destination: { write: (line: string) => void lines.push(line) } };
};

const SECRET = {
  bearer: 'drv_bearer-secret-0123456789',
  workerToken: 'dwt_worker-token-0123456789',
  apiKey: 'drv_x-api-key-0123456789',
  token: 'plain-token-0123456789',
  rpc: 'rpc-secret-0123456789',
  password: 'dsn-password-0123456789',
  s3: 's3-secret-0123456789',
  key: 'drv_created-key-0123456789',
  child: 'child-binding-token-0123456789',
};

/** Objects shaped like what the control plane logs: a request, a worker record, a config, a created key. */
function secretBearingObject() {
  return {
    req: { method: 'GET', headers: { authorization: `Bearer ${SECRET.bearer}`, 'x-worker-token': SECRET.workerToken, 'x-api-key': SECRET.apiKey, 'user-agent': 'curl/8' } },
    token: SECRET.token,
    worker: { id: 'w-1', rpc_secret: SECRET.rpc, rpcSecret: SECRET.rpc },
    config: { database: { dsn: `postgres://drover:${SECRET.password}@db/drover`, password: SECRET.password }, artifacts: { s3: { secret_access_key: SECRET.s3 } } },
    created: { id: 'key_1', key: SECRET.key },
    headers: { authorization: `Bearer ${SECRET.bearer}` },
  };
}

describe('createLogger', () => {
  it('JSON lines with secrets redacted wherever they sit, other fields intact', () => {
    const { lines, destination } = capture();
    const log = createLogger({ level: 'info', format: 'json' }, destination);
    log.info(secretBearingObject(), 'incoming');
    log.child({ request_id: 'req_1', token: SECRET.child }).warn({ nested: { auth: { authorization: SECRET.bearer } } }, 'child line');
    assert.equal(lines.length, 2);
    const all = lines.join('');
    for (const [name, value] of Object.entries(SECRET)) assert.ok(!all.includes(value), `${name} leaked`);
    const first = JSON.parse(lines[0]!) as ReturnType<typeof secretBearingObject> & { level: string; msg: string; time: string };
    assert.equal(first.req.headers.authorization, LOG_CENSOR);
    assert.equal(first.req.headers['x-worker-token'], LOG_CENSOR);
    assert.equal(first.config.artifacts.s3.secret_access_key, LOG_CENSOR);
    assert.equal(first.req.headers['user-agent'], 'curl/8');
    assert.equal(first.worker.id, 'w-1');
    assert.equal(first.created.id, 'key_1');
    assert.equal(first.level, 'info');
    assert.equal(first.msg, 'incoming');
    assert.match(first.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal((JSON.parse(lines[1]!) as { request_id: string }).request_id, 'req_1');
  });

  it('honours the configured level', () => {
    const { lines, destination } = capture();
    const log = createLogger({ level: 'warn', format: 'json' }, destination);
    log.info('not shown');
    log.warn('shown');
    assert.deepEqual(lines.map((l) => (JSON.parse(l) as { msg: string }).msg), ['shown']);
  });

  it('pretty: one readable line per record, still redacted, errors with their stack', () => {
    const { lines, destination } = capture();
    const log = createLogger({ level: 'info', format: 'pretty' }, destination);
    log.child({ request_id: 'req_42' }).info({ route: '/api/v1/sandboxes', status: 201, note: 'two words' }, 'request done');
    log.info(secretBearingObject(), 'with secrets');
    log.error({ err: new Error('boom') }, 'failed');
    assert.match(lines[0]!, /^\d\d:\d\d:\d\d\.\d{3} INFO {2}request done request_id=req_42 route=\/api\/v1\/sandboxes status=201 note="two words"\n$/);
    assert.ok(!lines[0]!.trimStart().startsWith('{'));
    for (const value of Object.values(SECRET)) assert.ok(!lines[1]!.includes(value));
    assert.match(lines[1]!, /\[redacted\]/);
    assert.match(lines[2]!, /^\S+ ERROR failed\n {4}Error: boom\n {8}at /);
  });

  it('auto: pretty on a terminal, JSON otherwise', () => {
    const tty = capture();
    createLogger({ level: 'info', format: 'auto' }, tty.destination, { isTty: true }).info('hello');
    assert.match(tty.lines[0]!, /^\S+ INFO {2}hello\n$/);
    const pipe = capture();
    createLogger({ level: 'info', format: 'auto' }, pipe.destination, { isTty: false }).info('hello');
    assert.equal((JSON.parse(pipe.lines[0]!) as { msg: string }).msg, 'hello');
  });

  it('prettyLine passes through text that is not JSON', () => {
    assert.equal(prettyLine('plain text'), 'plain text\n');
  });
});
