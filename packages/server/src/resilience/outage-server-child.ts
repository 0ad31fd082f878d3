import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildServer } from '../app.js';
import { loadConfig } from '../config.js';

/*
 * The server of the database outage tests, alone in its process so that a crash shows as an exit: it
 * composes the server as `kaiwa start` does on the database in argv[2], listens on 127.0.0.1 port 0, and
 * answers over IPC. It records every uncaught exception and unhandled rejection it survives (none should
 * happen) and reports them when asked. It exits when its parent goes away, or after two minutes.
 */

export type ToOutageServer = { type: 'prepare'; users: number; room: string } | { type: 'report' };
export type FromOutageServer =
  | { type: 'ready'; url: string }
  | { type: 'prepared'; roomId: string; tokens: string[] }
  | { type: 'report'; uncaught: string[] }
  | { type: 'failed'; message: string };

const databaseUrl = process.argv[2] ?? '';
setTimeout(() => process.exit(3), 120_000).unref();
process.on('disconnect', () => process.exit(0));
const send = (message: FromOutageServer): void => {
  process.send?.(message);
};

// What would have ended the process without these listeners; the test asserts there is none, and a
// real crash (an unhandled 'error' event) still shows, because Node reports those as uncaught here.
const uncaught: string[] = [];
process.on('uncaughtException', (error) => uncaught.push(String(error?.stack ?? error)));
process.on('unhandledRejection', (error) => uncaught.push(String((error as Error)?.stack ?? error)));

async function main(): Promise<void> {
  const dataDirectory = mkdtempSync(join(tmpdir(), 'kaiwa-outage-'));
  process.on('exit', () => rmSync(dataDirectory, { recursive: true, force: true }));
  const config = loadConfig({
    env: {
      KAIWA_DATA_DIR: dataDirectory,
      KAIWA_DATABASE_URL: databaseUrl,
      KAIWA_ACCESS_TOKEN_TTL: '1h',
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'silent',
      NODE_ENV: 'test',
    },
  });
  const server = await buildServer(config, { logger: false, announce: () => {} });
  const url = await server.listen();
  process.on('message', (message: ToOutageServer) => {
    if (message.type === 'report') {
      send({ type: 'report', uncaught });
      return;
    }
    void (async () => {
      const tokens: string[] = [];
      const userIds: string[] = [];
      for (let index = 0; index < message.users; index += 1) {
        const session = await server.accounts.signInAnonymously(`${message.room}-${index}`);
        tokens.push(session.accessToken);
        userIds.push(session.user.id);
      }
      const room = await server.engine.createRoom(userIds[0]!, { kind: 'channel', name: message.room });
      for (const userId of userIds.slice(1)) await server.engine.joinRoom(userId, room.id);
      send({ type: 'prepared', roomId: room.id, tokens });
    })().catch((error: unknown) =>
      send({ type: 'failed', message: String((error as Error)?.stack ?? error) }),
    );
  });
  send({ type: 'ready', url });
}

main().catch((error: unknown) => {
  send({ type: 'failed', message: String((error as Error)?.stack ?? error) });
  process.exit(1);
});
