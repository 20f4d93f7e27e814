import { createProcessProvider } from '../../../src/worker/providers/process/index.js';
import { providerConformance } from './conformance/index.js';

const exempt = {
  isolation: 'the process provider isolates nothing by design (it says so in its warnings)',
  ptyFds:
    "node-pty forks terminal processes straight from the worker and leaves terminal masters inheritable; a process-provider sandbox runs as the worker's user and could open /proc/<worker>/fd/* anyway",
};

providerConformance({
  name: 'process',
  variant: 'rlimits via prlimit when installed',
  open: (dataDir) => createProcessProvider({ dataDir, killGraceMs: 500 }),
  exempt,
});

// The fallback for hosts without util-linux: the same contract through a `sh -c 'ulimit …; exec'` wrapper.
providerConformance({
  name: 'process',
  variant: 'rlimits via the shell',
  open: (dataDir) => createProcessProvider({ dataDir, killGraceMs: 500, rlimits: 'shell' }),
  exempt,
});
