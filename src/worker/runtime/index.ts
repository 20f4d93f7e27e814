/**
 * The provider-independent sandbox runtime: exec, background processes with replayable output, and
 * the confined file API. The worker's RPC and data-plane servers call these; providers supply only
 * isolation (providers/types.ts).
 */
export { runExec, DEFAULT_MAX_OUTPUT_BYTES, type ExecRequest, type ExecOptions, type ExecResult } from './exec.js';
export { startExecStream, DEFAULT_HIGH_WATER_BYTES, type ExecStream, type ExecStreamOptions } from './exec-stream.js';
export { ProcessRegistry, type ProcessInfo, type ProcessRegistryOptions, type StartProcessRequest } from './processes.js';
export { OutputLog, DEFAULT_RING_BYTES, type ReadOptions } from './output-log.js';
export { toWireFrame, MAX_FRAME_BYTES, type OutputFrame, type ExecFrame, type WireFrame } from './frames.js';
export { parseSignal } from './command.js';
export type { RuntimeTarget } from './launch.js';
export { SandboxFiles } from './files/sandbox-files.js';
export { RangeNotSatisfiable } from './files/fs-errors.js';
export { parseSandboxPath, resolveInWorkspace, openWorkspace, type Workspace } from './files/confine.js';
export type { FileInfo, Listing } from './files/metadata.js';
export type { ByteRange, Download } from './files/download.js';
export type { UploadResult } from './files/upload.js';
export { execResultView, processView, fileInfoView } from './views.js';
