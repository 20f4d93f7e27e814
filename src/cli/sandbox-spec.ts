/**
 * The sandbox spec flags shared by `drover sandbox create` and `drover template create`: a JSON file
 * (`--file spec.json`, or `-` for stdin) as the base, flags on top (maps such as env and labels merge
 * key by key, everything else replaces). The result is checked locally with the API's own schema, so a
 * bad spec is a usage error (exit 2) that names the field, before anything is sent.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { z } from 'zod';
import { parseDuration } from '../domain/duration.js';
import { usage } from './client.js';
import { collect, decimal, integer, mebibytes, pairs } from './render.js';

export interface SpecOptions {
  file?: string;
  provider?: string;
  image?: string;
  cpu?: string;
  memory?: string;
  disk?: string;
  pids?: string;
  ttl?: string;
  idleTimeout?: string;
  env?: string[];
  label?: string[];
  selector?: string[];
  metadata?: string[];
  network?: string;
  port?: string[];
  publicPort?: string[];
  service?: string;
  servicePort?: string;
  restartOnWorkerLoss?: boolean;
}

export function withSpecOptions(cmd: Command): Command {
  return cmd
    .option('-f, --file <path>', 'a JSON spec (the API body) as the base; - reads stdin')
    .option('--provider <name>', 'bwrap, process, ... or auto')
    .option('--image <image>', 'root filesystem image, where the provider uses one')
    .option('--cpu <cpus>', 'CPUs, fractions allowed (default 1)')
    .option('--memory <size>', 'memory: MiB, or a size such as 2GiB (default 512)')
    .option('--disk <size>', 'disk: MiB, or a size such as 10GiB (default 1024)')
    .option('--pids <n>', 'process limit')
    .option('--ttl <duration>', 'lifetime, e.g. 30m or 2h')
    .option('--idle-timeout <duration>', 'stop after this long without activity')
    .option('-e, --env <KEY=VALUE>', 'environment variable (repeatable)', collect)
    .option('-l, --label <key=value>', 'label (repeatable)', collect)
    .option('--selector <key=value>', 'only workers with this label (repeatable)', collect)
    .option('--metadata <key=value>', 'free-form metadata (repeatable)', collect)
    .option('--network <mode>', 'none or host')
    .option('-p, --port <port>', 'a port previews may reach (repeatable)', collect)
    .option('--public-port <port>', 'a port reachable without auth (repeatable)', collect)
    .option('--service <command>', 'run this command as a supervised service (shell syntax)')
    .option('--service-port <port>', "the service's port, or auto")
    .option('--restart-on-worker-loss', 're-place the sandbox elsewhere if its worker is lost');
}

/** The file (if any) with the flags applied on top; not yet validated. */
export function specFromOptions(o: SpecOptions, readStdin: () => string = () => readFileSync(0, 'utf8')): Record<string, unknown> {
  const spec: Record<string, unknown> = o.file === undefined ? {} : readSpecFile(o.file, readStdin);
  const set = (key: string, value: unknown) => {
    if (value !== undefined) spec[key] = value;
  };
  const merge = (key: string, value: Record<string, string> | undefined) => {
    if (value !== undefined) spec[key] = { ...(spec[key] as Record<string, unknown> | undefined), ...value };
  };
  const ports = (flag: string, values: string[] | undefined) => values?.map((p) => integer(flag, p, 1, 65535));
  set('provider', o.provider);
  set('image', o.image);
  set('cpu', o.cpu === undefined ? undefined : decimal('--cpu', o.cpu));
  set('memory_mb', o.memory === undefined ? undefined : mebibytes('--memory', o.memory));
  set('disk_mb', o.disk === undefined ? undefined : mebibytes('--disk', o.disk));
  set('pids', o.pids === undefined ? undefined : integer('--pids', o.pids, 1));
  set('ttl_ms', o.ttl === undefined ? undefined : parseDuration(o.ttl));
  set('idle_timeout_ms', o.idleTimeout === undefined ? undefined : parseDuration(o.idleTimeout));
  merge('env', pairs('--env', o.env));
  merge('labels', pairs('--label', o.label));
  merge('selector', pairs('--selector', o.selector));
  merge('metadata', pairs('--metadata', o.metadata));
  set('network', o.network);
  set('ports', ports('--port', o.port));
  set('public_ports', ports('--public-port', o.publicPort));
  if (o.restartOnWorkerLoss) spec.restart_on_worker_loss = true;
  if (o.service !== undefined || o.servicePort !== undefined) {
    const service = { ...(spec.service as Record<string, unknown> | undefined) };
    if (o.service !== undefined) service.command = o.service;
    if (o.servicePort !== undefined) service.port = o.servicePort === 'auto' ? 'auto' : integer('--service-port', o.servicePort, 1, 65535);
    if (service.command === undefined) throw usage('--service-port needs --service (or a service in --file)');
    spec.service = service;
  }
  return spec;
}

function readSpecFile(path: string, readStdin: () => string): Record<string, unknown> {
  let text: string;
  try {
    text = path === '-' ? readStdin() : readFileSync(path, 'utf8');
  } catch (err) {
    throw usage(`--file ${path}: ${(err as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw usage(`--file ${path} is not JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw usage(`--file ${path} must hold a JSON object`);
  return value as Record<string, unknown>;
}

/** Validate with the API's schema; every problem is listed, each with its field path. */
export function checkSpec<S extends z.ZodType>(schema: S, spec: unknown): z.infer<S> {
  const r = schema.safeParse(spec);
  if (r.success) return r.data;
  const problems = r.error.issues.map((i) => {
    const where = i.path.length ? i.path.join('.') : 'spec';
    return i.code === 'unrecognized_keys' ? `${where}: unknown field(s) ${i.keys.join(', ')}` : `${where}: ${i.message}`;
  });
  throw usage(`invalid sandbox spec:\n  ${problems.join('\n  ')}`);
}
