import type { RouteDef } from '../http/route.js';

export function adminRoutes(): RouteDef[] {
  return [];
}
