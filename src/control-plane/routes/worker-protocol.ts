import type { RouteDef } from '../http/route.js';

export function workerProtocolRoutes(): RouteDef[] {
  return [];
}
