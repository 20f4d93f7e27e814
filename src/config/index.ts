/** The configuration module: one schema, one loader, lint and redaction. Import from here. */
export { configSchema, configKeys, SECRET_KEYS, PROVIDER_NAMES } from './schema.js';
export type {
  Config,
  ConfigInput,
  ConfigKey,
  KeyKind,
  ServerConfig,
  DatabaseConfig,
  AuthConfig,
  WorkersConfig,
  SchedulerConfig,
  SandboxesConfig,
  TasksConfig,
  ArtifactsConfig,
  S3Config,
  RateLimitConfig,
  LoggingConfig,
  MetricsConfig,
  WorkerConfig,
  WorkerCapacityConfig,
  ProviderName,
} from './schema.js';
export { loadConfig, configFilePath, envName, formatProblem, ConfigError } from './load.js';
export type { LoadConfigOptions, ConfigProblem } from './load.js';
export { lintConfig, CHECK_IDS } from './lint.js';
export type { Finding, Severity, LintOptions, CheckId } from './lint.js';
export { redactConfig, redactDsn, REDACTED } from './redact.js';
