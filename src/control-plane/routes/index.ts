/** Every route of the control plane. The auth-matrix test iterates exactly this list. */
import type { RouteDef } from '../http/route.js';
import { adminRoutes } from './admin.js';
import { blobRoutes } from './blobs.js';
import { observabilityRoutes } from './observability.js';
import { sandboxRoutes } from './sandboxes.js';
import { systemRoutes } from './system.js';
import { taskRoutes } from './tasks.js';
import { templateRoutes } from './templates.js';
import { workerProtocolRoutes } from './worker-protocol.js';
import { workerTaskRoutes } from './worker-tasks.js';
import { workerRoutes } from './workers.js';

export function allRoutes(): RouteDef[] {
  return [
    ...systemRoutes(),
    ...observabilityRoutes(),
    ...workerProtocolRoutes(),
    ...workerRoutes(),
    ...sandboxRoutes(),
    ...templateRoutes(),
    ...taskRoutes(),
    ...workerTaskRoutes(),
    ...blobRoutes(),
    ...adminRoutes(),
  ];
}
