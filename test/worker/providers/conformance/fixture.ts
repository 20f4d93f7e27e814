/**
 * How a provider is opened for the conformance suite, and which checks it is exempt from. Exemptions
 * live here, each with its reason, and the suite shows the reason as the skip reason: a provider that
 * cannot do something says so instead of silently passing a weaker test.
 */
import type { Provider, ProviderName } from '../../../../src/worker/providers/types.js';

export type ConformanceCheck =
  /** Runs real programs (`sh`, `cat` of a file, `env`, `pwd`, …), not only the mock's emulated few. */
  | 'realCommands'
  /** Allocates pseudo-terminals that programs see as terminals (`tty`, `stty size`). */
  | 'pty'
  /** Files in `handle.workspace` on the host are the files in /workspace inside, both ways. */
  | 'workspaceFiles'
  /** Background children and process groups are real host processes that signal/destroy must kill. */
  | 'backgroundChildren'
  /** Runtimes outlive the provider instance: a new instance on the same data dir lists and destroys them. */
  | 'reopen'
  /** portAddress() reaches a server listening inside the sandbox. */
  | 'ports'
  /** A process on a terminal holds no descriptor of the worker besides its terminal (e.g. another sandbox's). */
  | 'ptyFds'
  /** The sandbox cannot see the host's processes, files or loopback network. */
  | 'isolation';

export interface ProviderFixture {
  name: ProviderName;
  /** Distinguishes runs of one provider in different configurations, in test titles. */
  variant?: string;
  /** A provider whose runtimes live under `dataDir` (an empty temporary directory the suite owns). */
  open(dataDir: string): Promise<Provider>;
  /** Checks this provider does not support, each with the reason shown as the test's skip reason. */
  exempt?: Partial<Record<ConformanceCheck, string>>;
}

/** node:test options for a check: skipped with the fixture's reason when the provider is exempt. */
export function needs(fixture: ProviderFixture, ...checks: ConformanceCheck[]): { skip?: string; timeout: number } {
  for (const check of checks) {
    const reason = fixture.exempt?.[check];
    if (reason) return { skip: `${fixture.name} is exempt from '${check}': ${reason}`, timeout: TEST_TIMEOUT_MS };
  }
  return { timeout: TEST_TIMEOUT_MS };
}

/** Generous: the machines are shared and loaded. A hang fails the test instead of the whole run. */
export const TEST_TIMEOUT_MS = 120_000;
