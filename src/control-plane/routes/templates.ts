import type { RouteDef } from '../http/route.js';

export function templateRoutes(): RouteDef[] {
  return [];
}
