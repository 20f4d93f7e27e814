/**
 * How API commands reach the control plane, and how their failures become exit codes.
 *
 * Connection: `--url`, else `$DROVER_URL`, else http://127.0.0.1:7423 (the default listen address).
 * Key: `--api-key`, else `$DROVER_API_KEY`, else `./drover-data/admin.key` when it is readable — the
 * file the first `drover up`/`drover serve` in this directory wrote — so the quickstart of a local
 * control plane works with no flags. The key is never printed.
 *
 * Failures: an API error prints `drover: <code>: <message> (request <id>)` and exits 1; a usage error
 * (a bad flag value, a missing argument) exits 2.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { DroverError } from '../domain/errors.js';
import { createClient, DroverApiError, DroverConnectionError, type DroverClient } from '../sdk/index.js';
import { CliError } from './output.js';

export const DEFAULT_URL = 'http://127.0.0.1:7423';
export const LOCAL_ADMIN_KEY_FILE = './drover-data/admin.key';

export interface Connection {
  url: string;
  apiKey: string | undefined;
}

/** The connection the global options, the environment and the local key file give (see the header). */
export function resolveConnection(cmd: Command, env: NodeJS.ProcessEnv = process.env): Connection {
  const globals = cmd.optsWithGlobals<{ url?: string; apiKey?: string }>();
  const url = globals.url ?? nonEmpty(env.DROVER_URL) ?? DEFAULT_URL;
  const apiKey = globals.apiKey ?? nonEmpty(env.DROVER_API_KEY) ?? readLocalKey();
  return { url, apiKey };
}

export function clientFor(cmd: Command): DroverClient {
  return createClient(resolveConnection(cmd));
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

function readLocalKey(): string | undefined {
  try {
    return nonEmpty(readFileSync(resolve(LOCAL_ADMIN_KEY_FILE), 'utf8'));
  } catch {
    return undefined;
  }
}

/** A usage error: exit code 2. */
export function usage(message: string): CliError {
  return new CliError(message, 2);
}

/**
 * Wraps a command action so every failure leaves with the right message and exit code. Commander
 * passes the action's arguments with the Command last; `run` receives them unchanged.
 */
export function action<A extends unknown[]>(run: (...args: A) => Promise<void> | void): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await run(...args);
    } catch (err) {
      throw toCliError(err);
    }
  };
}

export function toCliError(err: unknown): unknown {
  if (err instanceof DroverApiError) {
    const lines = [`${err.code}: ${err.message}${err.requestId ? ` (request ${err.requestId})` : ''}`];
    const fields = err.details?.fields;
    // The message names the first bad field; list them all when there are more.
    if (fields && typeof fields === 'object' && Object.keys(fields).length > 1) {
      for (const [path, problem] of Object.entries(fields as Record<string, unknown>)) lines.push(`  ${path}: ${String(problem)}`);
    }
    return new CliError(lines.join('\n'), 1);
  }
  if (err instanceof DroverConnectionError) return new CliError(`${err.message} (set --url or DROVER_URL)`, 1);
  // Local parsing (durations, sizes) throws the domain's bad_request: that is the user's input.
  if (err instanceof DroverError && err.code === 'bad_request') return usage(err.message);
  return err;
}
