import type { RouteDef } from '../http/route.js';

export function sandboxRoutes(): RouteDef[] {
  return [];
}
