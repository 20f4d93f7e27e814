import type { RouteDef } from '../http/route.js';

export function observabilityRoutes(): RouteDef[] {
  return [];
}
