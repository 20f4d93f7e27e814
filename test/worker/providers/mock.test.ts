import { createMockProvider } from '../../../src/worker/providers/mock/index.js';
import { providerConformance } from './conformance/index.js';

const EMULATED = 'the mock emulates only true, false, echo, sleep, cat and exit; it runs nothing';

providerConformance({
  name: 'mock',
  open: async (dataDir) => createMockProvider({ dataDir }),
  exempt: {
    realCommands: EMULATED,
    pty: 'emulated processes have no terminal',
    workspaceFiles: EMULATED,
    backgroundChildren: EMULATED,
    reopen: 'the mock keeps its runtimes in memory only',
    ports: 'nothing listens inside a mock sandbox',
    isolation: 'the mock isolates nothing',
  },
});
