import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildServer } from '../app.js';
import { loadConfig } from '../config.js';

/*
 * One server instance in its own process, for the multi-instance tests and the scale benchmark. It reads
 * its settings from the JSON in argv[2], composes the server as `kaiwa start` does, listens on 127.0.0.1
 * port 0 and answers over IPC (`ready`, `prepared`). It exits when told to stop, when its parent goes
 * away, or after `lifetimeMs` whatever happens.
 */

export interface InstanceSettings {
  databaseUrl: string;
  /** KAIWA_BUS: memory, redis://…, nats://… */
  bus: string;
  channel: string;
  jwtSecret: string;
  lifetimeMs?: number;
  /** More environment variables (OTEL_* for tracing). */
  environment?: Record<string, string>;
  /** Log at this level to standard output (pino's JSON lines); default: no logging. */
  logLevel?: string;
}

export type ToInstance = { type: 'prepare'; users: number; room: string } | { type: 'stop' };
export type FromInstance =
  | { type: 'ready'; url: string }
  | { type: 'prepared'; roomId: string; lastSeq: number; tokens: string[]; userIds: string[] }
  | { type: 'failed'; message: string };

const settings = JSON.parse(process.argv[2] ?? '{}') as InstanceSettings;
setTimeout(() => process.exit(3), settings.lifetimeMs ?? 120_000).unref();
process.on('disconnect', () => process.exit(0));
const send = (message: FromInstance): void => {
  process.send?.(message);
};

async function main(): Promise<void> {
  const dataDirectory = mkdtempSync(join(tmpdir(), 'kaiwa-instance-'));
  const config = loadConfig({
    env: {
      KAIWA_DATA_DIR: dataDirectory,
      KAIWA_DATABASE_URL: settings.databaseUrl,
      KAIWA_JWT_SECRET: settings.jwtSecret,
      KAIWA_ACCESS_TOKEN_TTL: '1h',
      KAIWA_BUS: settings.bus,
      KAIWA_BUS_CHANNEL: settings.channel,
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'error',
      NODE_ENV: 'production',
      // Production refuses an open /metrics: close it with a token nobody here uses.
      KAIWA_METRICS_TOKEN: randomBytes(24).toString('hex'),
      ...(settings.logLevel ? { LOG_LEVEL: settings.logLevel } : {}),
      ...settings.environment,
    },
  });
  const server = await buildServer(config, {
    ...(settings.logLevel ? {} : { logger: false }),
    announce: () => {},
  });
  const url = await server.listen();
  process.on('message', (message: ToInstance) => {
    void (async () => {
      if (message.type === 'stop') {
        setTimeout(() => process.exit(0), 5_000).unref();
        await server.close().catch(() => undefined);
        rmSync(dataDirectory, { recursive: true, force: true });
        process.exit(0);
      }
      const tokens: string[] = [];
      const userIds: string[] = [];
      for (let index = 0; index < message.users; index += 1) {
        const session = await server.accounts.signInAnonymously(`${message.room}-${index}`);
        tokens.push(session.accessToken);
        userIds.push(session.user.id);
      }
      const room = await server.engine.createRoom(userIds[0]!, { kind: 'channel', name: message.room });
      for (const userId of userIds.slice(1)) await server.engine.joinRoom(userId, room.id);
      const { lastSeq } = await server.engine.getRoom(userIds[0]!, room.id);
      send({ type: 'prepared', roomId: room.id, lastSeq, tokens, userIds });
    })().catch((error: unknown) =>
      send({ type: 'failed', message: String((error as Error)?.stack ?? error) }),
    );
  });
  send({ type: 'ready', url: url.replace(/^http/, 'ws') });
}

main().catch((error: unknown) => {
  send({ type: 'failed', message: String((error as Error)?.stack ?? error) });
  process.exit(1);
});
