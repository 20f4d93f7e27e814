/**
 * A control plane listening on 127.0.0.1 (SQLite, manual clock) with fake workers on loopback, and SDK
 * clients for each kind of key: the client's real fetch goes over real HTTP, like a user's program.
 */
import type { AddressInfo } from 'node:net';
import { createClient, type DroverClient } from '../../src/sdk/index.js';
import { sandboxHarness, type SandboxHarness } from '../control-plane/sandboxes/support.js';

export interface SdkHarness {
  h: SandboxHarness;
  url: string;
  /** Clients by harness key name. */
  admin: DroverClient;
  operator: DroverClient;
  viewer: DroverClient;
  apiA: DroverClient;
  apiB: DroverClient;
  anonymous: DroverClient;
  close(): Promise<void>;
}

export async function sdkHarness(): Promise<SdkHarness> {
  const h = await sandboxHarness();
  await h.t.app.listen({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${(h.t.app.server.address() as AddressInfo).port}`;
  const client = (apiKey?: string) => createClient({ url, apiKey });
  const k = h.t.keys;
  return {
    h,
    url,
    admin: client(k.admin),
    operator: client(k.operator),
    viewer: client(k.viewer),
    apiA: client(k.apiA),
    apiB: client(k.apiB),
    anonymous: client(),
    close: () => h.close(),
  };
}

/** Everything an async iterator yields, in order. */
export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}
