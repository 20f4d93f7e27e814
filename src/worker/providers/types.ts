/**
 * The provider interface: how a sandbox is isolated on this worker. Providers own only isolation —
 * creating a runtime, starting processes inside it, mapping its paths and ports, destroying it. Exec
 * buffering, process registries with sequence-numbered output, file operations, services and the RPC
 * and data-plane servers are generic worker code built on this interface, so every provider gets them
 * the same way and one conformance suite (test/worker/providers/conformance/) checks every provider.
 */

export type ProviderName = 'bwrap' | 'process' | 'mock';

/** What could actually be enforced for a sandbox on this host, reported to the control plane. */
export interface EnforcedLimits {
  cpu: 'cgroup' | 'none';
  memory: 'cgroup' | 'rlimit' | 'none';
  pids: 'cgroup' | 'rlimit' | 'none';
  disk: 'none';
  /** 'namespace': own network namespace with only loopback; 'host': shares the host's. */
  network: 'namespace' | 'host';
  /** Filesystem view: 'private' (only system dirs read-only + own workspace), or 'host' (no isolation). */
  filesystem: 'private' | 'host';
}

export interface ProviderInfo {
  name: ProviderName;
  /** False for `process` and `mock`: say so wherever the provider is chosen. */
  isolated: boolean;
  /** e.g. 'pty', 'network:none', 'network:host', 'cgroup:v1', 'cgroup:v2'. */
  capabilities: string[];
  /** Host-level problems a person should know (no writable cgroup, rlimits only, …). */
  warnings: string[];
}

export interface SpawnRequest {
  sandboxId: string;
  /** Chosen by the worker; stable across worker restarts (it names the runtime's directory). */
  runtimeId: string;
  /** Millicores, MiB, MiB; pids is a count. */
  resources: { cpuMilli: number; memoryMb: number; diskMb: number; pids?: number | undefined };
  env: Record<string, string>;
  network: 'none' | 'host';
}

export interface RuntimeHandle {
  sandboxId: string;
  runtimeId: string;
  /** Host directory mounted as /workspace inside the sandbox; file operations are confined to it. */
  workspace: string;
  enforced: EnforcedLimits;
  warnings: string[];
}

export interface RuntimeStatus {
  runtimeId: string;
  sandboxId: string;
  /** 'running' while the runtime exists and can start processes. */
  state: 'running' | 'dead';
  /** Live processes started in it (best effort). */
  processes: number;
}

export interface ProcessOptions {
  /** argv[0] is resolved inside the sandbox (PATH lookup there). */
  argv: string[];
  env?: Record<string, string> | undefined;
  /** Inside the sandbox; default /workspace. */
  cwd?: string | undefined;
  /** Allocate a PTY (stdout and stderr merge into 'stdout'). */
  pty?: { cols: number; rows: number } | undefined;
}

export interface ExitInfo {
  /** Null when killed by a signal. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
}

/** A process running inside a sandbox. Output arrives in order per stream; exit is reported last. */
export interface SandboxProcess {
  readonly pid: number;
  onOutput(listener: (stream: 'stdout' | 'stderr', chunk: Buffer) => void): void;
  /** Called once, after every output chunk has been delivered. */
  onExit(listener: (exit: ExitInfo) => void): void;
  write(data: Buffer): void;
  endInput(): void;
  /** To the whole process group. */
  signal(signal: NodeJS.Signals): void;
  resize(cols: number, rows: number): void;
  /** Stop delivering output until resume() (backpressure from a slow consumer). */
  pause(): void;
  resume(): void;
}

/** Where the worker connects to reach a port listening inside the sandbox. */
export type PortAddress = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string };

export interface Provider {
  readonly name: ProviderName;
  info(): ProviderInfo;
  /** Create the runtime (directories, namespaces, cgroup); no user process runs yet. */
  spawn(req: SpawnRequest): Promise<RuntimeHandle>;
  /** Kill every process of the runtime, release its cgroup and delete its files. Idempotent. */
  destroy(runtimeId: string): Promise<void>;
  status(runtimeId: string): Promise<RuntimeStatus | undefined>;
  startProcess(runtimeId: string, options: ProcessOptions): Promise<SandboxProcess>;
  /** How to reach `port` inside the sandbox from the worker (a forwarder may be started on demand). */
  portAddress(runtimeId: string, port: number): Promise<PortAddress>;
  /** Runtimes this provider finds on the host (directories, process groups), for reconciliation. */
  inventory(): Promise<Array<{ runtimeId: string; sandboxId: string }>>;
  health(): Promise<{ ok: boolean; detail?: string }>;
  /** Stop background helpers (forwarders, reapers); runtimes are left for reconciliation. */
  close(): Promise<void>;
}
