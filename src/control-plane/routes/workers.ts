import type { RouteDef } from '../http/route.js';

export function workerRoutes(): RouteDef[] {
  return [];
}
