/**
 * Where the control plane calls this worker. `worker.listen_addr` is where the RPC server binds;
 * `worker.advertise_url` is what the heartbeat tells the control plane (03-worker.md). Binding to every
 * interface (0.0.0.0, ::) is fine, advertising it is not: the control plane would dial its own host and
 * either fail or, worse, reach another worker there. So such an address is refused at start, with the
 * way out in the message.
 */
export interface ListenAddr {
  /** Without IPv6 brackets; '' means every interface. */
  host: string;
  port: number;
}

export class AdvertiseError extends Error {
  override name = 'AdvertiseError';
}

const LISTEN_ADDR = /^(\[[0-9a-fA-F:.]+\]|[^:\s[\]]*):(\d{1,5})$/;

export function parseListenAddr(addr: string): ListenAddr {
  const m = LISTEN_ADDR.exec(addr);
  if (!m || Number(m[2]) > 65535) throw new AdvertiseError(`worker.listen_addr ${JSON.stringify(addr)} must be host:port, e.g. 127.0.0.1:7430 or [::1]:7430`);
  const host = m[1]!.startsWith('[') ? m[1]!.slice(1, -1) : m[1]!;
  return { host, port: Number(m[2]) };
}

/** True for an address that means "every interface" rather than one reachable host. */
export function isUnspecifiedHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === '' || h === '0.0.0.0' || /^[0:]+$/.test(h) || h === '::ffff:0.0.0.0';
}

/** An explicit `worker.advertise_url`, checked. */
export function checkAdvertiseUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new AdvertiseError(`worker.advertise_url ${JSON.stringify(url)} is not a URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new AdvertiseError('worker.advertise_url must be an http:// or https:// URL');
  if (isUnspecifiedHost(parsed.hostname)) {
    throw new AdvertiseError(
      `worker.advertise_url ${url} names the unspecified address ${parsed.hostname}, which the control plane cannot call: ` +
        "give an address of this machine that the control plane can reach (e.g. http://10.0.0.5:7430)",
    );
  }
  return url.replace(/\/+$/, '');
}

/**
 * The URL derived from the listen address once the port is known (a configured port 0 binds a free
 * one). Refuses a listen address on every interface: there is no single address to derive.
 */
export function deriveAdvertiseUrl(listen: ListenAddr, boundPort: number, tls: boolean): string {
  if (isUnspecifiedHost(listen.host)) {
    const shown = listen.host.includes(':') ? `[${listen.host}]:${listen.port}` : `${listen.host}:${listen.port}`;
    throw new AdvertiseError(
      `worker.listen_addr ${shown} listens on every interface, and that address is never advertised to the control plane: ` +
        'set worker.advertise_url (--advertise-url) to the URL the control plane should call, e.g. http://10.0.0.5:7430',
    );
  }
  const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
  return `${tls ? 'https' : 'http'}://${host}:${boundPort}`;
}
