/**
 * Map a control-plane time to this process's clock: `serverTime` (when the reply was written) is
 * "now" on the server, `localNow` is now here. Without a server time (an older control plane), times
 * are taken as they are.
 */
export function serverToLocal(serverTime: string | undefined, localNow: number): (t: number) => number {
  const server = serverTime === undefined ? Number.NaN : Date.parse(serverTime);
  const offset = Number.isFinite(server) ? localNow - server : 0;
  return (t) => t + offset;
}
