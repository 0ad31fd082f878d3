export {
  API_PREFIX,
  type BuildServerOptions,
  buildServer,
  JSON_BODY_LIMIT,
  type KaiwaServer,
} from './app.js';
export {
  AccountService,
  type CredentialKind,
  type Session,
  usernameForNickname,
} from './auth/account-service.js';
export { checkPasswordPolicy, MIN_PASSWORD_LENGTH } from './auth/passwords.js';
export { type CliEnvironment, createProgram, runCli } from './cli-program.js';
export {
  ConfigError,
  DEFAULT_UPLOAD_TYPES,
  type LoadConfigOptions,
  type LogLevel,
  loadConfig,
  type NodeEnvironment,
  parseByteSize,
  parseDuration,
  SETTING_NAMES,
  type ServerConfig,
} from './config.js';
export { contentDisposition } from './files/content-disposition.js';
export { type ErrorResponse, ErrorResponseSchema, errorAnswer } from './http/error-handler.js';
export { HttpError } from './http/http-error.js';
export {
  SIGNATURE_HEADERS,
  type SignRequestInput,
  signRequest,
} from './http/signed-request.js';
export { ServerMetrics } from './operations/server-metrics.js';
export { REALTIME_PATH, type RealtimeComposition, type RealtimeServer } from './realtime-composition.js';
export { describeDatabase, openStore } from './storage/open-store.js';
export { type SlowQuery, timedStore } from './storage/timed-store.js';
