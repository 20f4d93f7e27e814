// Lint is also where the architecture is enforced: the import-boundary rules below are the house rule
// "dependencies point inward" made mechanical (see docs/ARCHITECTURE.md for the picture).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Folders under src/ and the ones each may not import from. */
const forbidden = {
  domain: ['protocol', 'config', 'store', 'control-plane', 'worker', 'sdk', 'cli', 'blob'],
  protocol: ['config', 'store', 'control-plane', 'worker', 'sdk', 'cli', 'blob'],
  config: ['protocol', 'store', 'control-plane', 'worker', 'sdk', 'cli', 'blob'],
  store: ['protocol', 'control-plane', 'worker', 'sdk', 'cli', 'blob'],
  blob: ['protocol', 'store', 'control-plane', 'worker', 'sdk', 'cli'],
  'control-plane': ['worker', 'sdk', 'cli'],
  worker: ['store', 'control-plane', 'cli', 'blob'],
  sdk: ['config', 'store', 'control-plane', 'worker', 'cli', 'blob'],
};

function boundary(folder, banned) {
  return {
    files: [`src/${folder}/**/*.ts`],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: banned.map((name) => ({
          regex: `^(\\.\\./)+${name}(/|$)`,
          message: `src/${folder} may not import src/${name}: dependencies point inward (docs/ARCHITECTURE.md).`,
        })),
      }],
    },
  };
}

export default tseslint.config(
  { ignores: ['dist/**', '.tmp/**', 'node_modules/**', 'bench/peers/**', 'bench/results/**', 'test/fixtures/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'error',
    },
  },
  // Business logic takes an injected Clock; only the clock module itself may read the wall clock.
  {
    files: ['src/domain/**/*.ts', 'src/store/**/*.ts', 'src/control-plane/**/*.ts', 'src/worker/**/*.ts'],
    ignores: ['src/domain/clock.ts'],
    rules: {
      'no-restricted-properties': ['error', { object: 'Date', property: 'now', message: 'Use the injected Clock.' }],
    },
  },
  ...Object.entries(forbidden).map(([folder, banned]) => boundary(folder, banned)),
  { files: ['src/cli/**/*.ts', 'scripts/**', 'bin/**', 'test/**', 'bench/**'], rules: { 'no-console': 'off' } },
);
