/** The `process` provider: no isolation beyond a private directory, rlimits and a process group. */
export { createProcessProvider, ProcessProvider, type ProcessProviderOptions } from './provider.js';
export { ProcessEvents } from './events.js';
export { startPipeProcess, type CommandLine, type GroupHooks } from './pipe-process.js';
export { startPtyProcess } from './pty-process.js';
export { RuntimeLayout, assertRuntimeId, type RuntimeRecord } from './layout.js';
