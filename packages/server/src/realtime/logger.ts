/** The slice of a pino (or Fastify) logger the realtime server uses. */
export interface RealtimeLogger {
  debug(context: object, message?: string): void;
  info(context: object, message?: string): void;
  warn(context: object, message?: string): void;
  error(context: object, message?: string): void;
}

const ignore = (): void => {};

export const silentLogger: RealtimeLogger = { debug: ignore, info: ignore, warn: ignore, error: ignore };
