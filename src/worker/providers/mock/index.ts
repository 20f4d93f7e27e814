/** The `mock` provider: in-memory runtimes and emulated processes, for tests and benchmarks. */
import { MockProvider, type MockProviderOptions } from './provider.js';

export { MockProvider, type MockProviderOptions } from './provider.js';
export { parseMockCommand, MOCK_COMMANDS, type MockScript } from './commands.js';

export function createMockProvider(options: MockProviderOptions): MockProvider {
  return new MockProvider(options);
}
