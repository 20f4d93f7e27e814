/**
 * Builds the one frozen Config a process runs with, from (lowest to highest precedence) the schema's
 * defaults, a YAML file, DROVER_* environment variables and command-line flags. Every value remembers
 * which source set it, so an error reads `workers.stale_after: ... (env DROVER_WORKERS_STALE_AFTER)`
 * and the operator knows where to look. All problems are collected and thrown together: fixing a
 * config one error per restart is the failure this prevents.
 *
 * Messages never include values, only paths and sources, because the value might be a secret.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { LineCounter, parse as parseYaml, parseDocument } from 'yaml';
import type { z } from 'zod';
import { configKeys, configSchema, SECRET_KEYS } from './schema.js';
import type { Config, ConfigKey } from './schema.js';
import { deepFreeze, deletePath, getPath, isPlainObject, lastSegment, setPath, withoutNulls, type Tree } from './tree.js';

export interface ConfigProblem {
  /** Dotted key path; empty for a problem with the file as a whole. */
  path: string;
  message: string;
  /** Where the offending value came from: `default`, `file F`, `env NAME`, `flag path`. */
  source: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: ConfigProblem[]) {
    super(`invalid configuration:\n${problems.map((p) => `  ${formatProblem(p)}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export function formatProblem(p: ConfigProblem): string {
  return `${p.path ? `${p.path}: ` : ''}${p.message} (${p.source})`;
}

export interface LoadConfigOptions {
  /** Explicit YAML file (`--config` / `--file`); it must exist. */
  configFile?: string;
  /** Defaults to process.env, read when called (never at import). */
  env?: Record<string, string | undefined>;
  cwd?: string;
  /**
   * Values from command-line flags, keyed by dotted path, e.g. `{ 'worker.id': 'w1' }`. Undefined
   * values are skipped. Give commander options no defaults: a default would count as a flag and
   * override the file and environment.
   */
  flags?: Record<string, unknown>;
}

interface Entry {
  path: string;
  value: unknown;
  source: string;
}
/** Mutable only for the duration of one loadConfig call. */
interface Draft {
  tree: Tree;
  sources: Map<string, string>;
  problems: ConfigProblem[];
  keys: Map<string, ConfigKey>;
}

/** The YAML file that loadConfig would read, as an absolute path, or undefined when there is none. */
export function configFilePath(opts: LoadConfigOptions = {}): string | undefined {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const named = opts.configFile ?? nonEmpty(env.DROVER_CONFIG);
  if (named !== undefined) return resolve(cwd, named);
  const local = resolve(cwd, 'drover.yaml');
  return existsSync(local) ? local : undefined;
}

export function loadConfig(opts: LoadConfigOptions = {}): Config {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const draft: Draft = {
    tree: {},
    sources: new Map(),
    problems: [],
    keys: new Map(configKeys().map((k) => [k.path, k])),
  };

  const file = configFilePath({ ...opts, env, cwd });
  if (file !== undefined) applyFile(draft, file);
  applyEntries(draft, envEntries(draft, env));
  applyEntries(draft, flagEntries(draft, opts.flags ?? {}));
  readSecretFiles(draft, cwd);

  const parsed = configSchema.safeParse(draft.tree);
  if (!parsed.success) draft.problems.push(...parsed.error.issues.flatMap((i) => issueProblems(draft, i)));
  if (draft.problems.length > 0 || !parsed.success) throw new ConfigError(draft.problems);
  return deepFreeze(parsed.data);
}

// --- sources -----------------------------------------------------------------------------------

function applyFile(draft: Draft, file: string): void {
  const source = `file ${file}`;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    draft.problems.push({ path: '', message: `cannot read config file: ${errorCode(err)}`, source });
    return;
  }
  const lines = new LineCounter();
  // prettyErrors off: the pretty form quotes the offending line, which may hold a secret.
  const doc = parseDocument(text, { prettyErrors: false, lineCounter: lines });
  if (doc.errors.length > 0) {
    for (const e of doc.errors) {
      const at = lines.linePos(e.pos[0]);
      draft.problems.push({ path: '', message: `YAML: ${e.message} at line ${at.line}, column ${at.col}`, source });
    }
    return;
  }
  const value = withoutNulls(doc.toJS());
  if (value === undefined) return; // empty file
  if (!isPlainObject(value)) {
    draft.problems.push({ path: '', message: 'the top level must be a mapping of sections', source });
    return;
  }
  const entries = flatten(draft, value, '').map(([path, v]) => ({ path, value: v, source }));
  applyEntries(draft, entries);
}

function envEntries(draft: Draft, env: Record<string, string | undefined>): Entry[] {
  const entries: Entry[] = [];
  // Names are derived from schema paths rather than split on "_", because sections (rate_limit) and
  // keys (admin_api_key) contain underscores. DROVER_* names that match no key (DROVER_URL,
  // DROVER_API_KEY, DROVER_CONFIG, DROVER_TEST_*) belong to other parts of the program and are ignored.
  for (const key of draft.keys.values()) {
    const name = envName(key.path);
    // Empty counts as unset: compose files and systemd units often pass `NAME=` for "not configured".
    const raw = nonEmpty(env[name]);
    if (raw === undefined) continue;
    const value = coerce(draft, key, raw, `env ${name}`);
    if (value !== undefined) entries.push({ path: key.path, value, source: `env ${name}` });
  }
  return entries;
}

function flagEntries(draft: Draft, flags: Record<string, unknown>): Entry[] {
  const entries: Entry[] = [];
  for (const [path, given] of Object.entries(flags)) {
    if (given === undefined) continue;
    const source = `flag ${path}`;
    const key = draft.keys.get(path);
    let value: unknown = given;
    if (key && typeof given === 'string') value = coerce(draft, key, given, source);
    // Repeatable flags such as `--label k=v --label k2=v2` arrive as a list of pairs.
    else if (key?.kind === 'map' && Array.isArray(given)) value = pairs(draft, key, given.map(String), source);
    if (value !== undefined) entries.push({ path, value, source });
  }
  return entries;
}

export function envName(path: string): string {
  return `DROVER_${path.replaceAll('.', '_').toUpperCase()}`;
}

/** One string to the key's type. Values the schema will reject are passed through for it to report. */
function coerce(draft: Draft, key: ConfigKey, raw: string, source: string): unknown {
  switch (key.kind) {
    case 'boolean':
      if (/^(true|1|yes|on)$/i.test(raw)) return true;
      if (/^(false|0|no|off)$/i.test(raw)) return false;
      return raw;
    case 'number':
      return /^-?\d+(\.\d+)?$/.test(raw.trim()) ? Number(raw) : raw;
    case 'list':
      if (raw.trim().startsWith('[')) return json(draft, key, raw, source, Array.isArray, 'a JSON array');
      return raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
    case 'map':
      if (raw.trim().startsWith('{')) return json(draft, key, raw, source, isPlainObject, 'a JSON object');
      return pairs(draft, key, raw.split(','), source);
    case 'text':
      return raw;
  }
}

function json(draft: Draft, key: ConfigKey, raw: string, source: string, ok: (v: unknown) => boolean, what: string): unknown {
  try {
    const value: unknown = JSON.parse(raw);
    if (ok(value)) return value;
  } catch {
    // reported below
  }
  draft.problems.push({ path: key.path, message: `must be ${what}`, source });
  return undefined;
}

/** `k=v` items; split on the first "=" only, because base64 tokens end in "=". */
function pairs(draft: Draft, key: ConfigKey, items: string[], source: string): Tree | undefined {
  const out: Tree = {};
  for (const item of items.map((s) => s.trim()).filter((s) => s !== '')) {
    const at = item.indexOf('=');
    if (at <= 0) {
      draft.problems.push({ path: key.path, message: 'must be k=v pairs separated by commas, or a JSON object', source });
      return undefined;
    }
    Object.defineProperty(out, item.slice(0, at).trim(), { value: item.slice(at + 1).trim(), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

// --- merging -----------------------------------------------------------------------------------

/**
 * Writes one source's entries over the draft. A secret and its `_file` form are one setting spelt two
 * ways: both in the same source is an error, while a higher source giving either form replaces
 * whichever form a lower source gave (so `--worker-token` overrides a token_file from the YAML).
 */
function applyEntries(draft: Draft, entries: Entry[]): void {
  const paths = new Set(entries.map((e) => e.path));
  for (const { key } of SECRET_KEYS) {
    const file = `${key}_file`;
    if (paths.has(key) && paths.has(file)) {
      const source = entries.find((e) => e.path === key)!.source;
      draft.problems.push({ path: key, message: `give ${lastSegment(key)} or ${lastSegment(file)}, not both`, source });
      paths.delete(file);
    }
  }
  for (const entry of entries) {
    if (!paths.has(entry.path)) continue;
    const secret = SECRET_KEYS.find(({ key }) => entry.path === key || entry.path === `${key}_file`);
    if (secret) {
      const partner = entry.path === secret.key ? `${secret.key}_file` : secret.key;
      deletePath(draft.tree, partner);
      draft.sources.delete(partner);
    }
    for (const known of draft.sources.keys()) {
      if (known.startsWith(`${entry.path}.`)) draft.sources.delete(known);
    }
    setPath(draft.tree, entry.path, entry.value);
    draft.sources.set(entry.path, entry.source);
  }
}

/** Leaves of a parsed file as [path, value]; known maps and lists stay whole, unknown keys are kept. */
function flatten(draft: Draft, node: Tree, prefix: string): [string, unknown][] {
  return Object.entries(node).flatMap(([name, value]): [string, unknown][] => {
    const path = prefix ? `${prefix}.${name}` : name;
    // An empty mapping is kept as a leaf so that an unknown `section: {}` is still reported.
    if (isPlainObject(value) && !draft.keys.has(path) && Object.keys(value).length > 0) {
      return flatten(draft, value, path);
    }
    return [[path, value]];
  });
}

function readSecretFiles(draft: Draft, cwd: string): void {
  for (const { key, form } of SECRET_KEYS) {
    const fileKey = `${key}_file`;
    const ref = getPath(draft.tree, fileKey);
    if (typeof ref !== 'string' || ref === '') continue; // absent, or a type error the schema reports
    const source = draft.sources.get(fileKey) ?? 'default';
    let content: string;
    try {
      content = readFileSync(resolve(cwd, ref), 'utf8');
    } catch (err) {
      draft.problems.push({ path: fileKey, message: `cannot read ${ref}: ${errorCode(err)}`, source });
      continue;
    }
    let value: unknown = content.replace(/(\r?\n)+$/, '');
    if (value === '') {
      draft.problems.push({ path: fileKey, message: `${ref} is empty`, source });
      continue;
    }
    if (form === 'map') {
      value = safeYaml(content);
      if (!isPlainObject(value)) {
        draft.problems.push({ path: fileKey, message: `${ref} must hold a YAML or JSON mapping of worker id to token`, source });
        continue;
      }
    }
    setPath(draft.tree, key, value);
    draft.sources.set(key, `file ${ref} via ${fileKey}`);
  }
}

// --- validation results ------------------------------------------------------------------------

function issueProblems(draft: Draft, issue: z.core.$ZodIssue): ConfigProblem[] {
  const path = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((name) => {
      const full = path ? `${path}.${name}` : name;
      return { path: full, message: `unknown key${suggestion(draft, path, name)}`, source: sourceOf(draft, full) };
    });
  }
  const related = issue.code === 'custom' ? (issue.params as { related?: string } | undefined)?.related : undefined;
  return [{ path, message: issue.message, source: sourceOf(draft, related ?? path) }];
}

/** The source of the value at path, else of its nearest ancestor, else of anything under it. */
function sourceOf(draft: Draft, path: string): string {
  for (let p = path; p !== ''; p = p.includes('.') ? p.slice(0, p.lastIndexOf('.')) : '') {
    const found = draft.sources.get(p);
    if (found) return found;
  }
  for (const [known, source] of draft.sources) if (known.startsWith(`${path}.`)) return source;
  return 'default';
}

/** "did you mean" for a misspelt key: the closest sibling within two edits. */
function suggestion(draft: Draft, parent: string, name: string): string {
  const siblings = new Set<string>();
  for (const full of draft.keys.keys()) {
    const rest = parent === '' ? full : full.startsWith(`${parent}.`) ? full.slice(parent.length + 1) : undefined;
    if (rest !== undefined) siblings.add(rest.split('.')[0]!);
  }
  let best: string | undefined;
  let bestDistance = 3;
  for (const s of siblings) {
    const d = editDistance(name, s);
    if (d < bestDistance) [best, bestDistance] = [s, d];
  }
  return best === undefined ? '' : ` (did you mean ${parent ? `${parent}.` : ''}${best}?)`;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length]!;
}

// --- small tree helpers ------------------------------------------------------------------------

function safeYaml(text: string): unknown {
  try {
    return parseYaml(text);
  } catch {
    return undefined; // the caller reports it without echoing the file (it holds secrets)
  }
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}

function errorCode(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
}
