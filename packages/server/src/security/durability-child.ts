import { buildServer } from '../app.js';
import { loadConfig } from '../config.js';

/*
 * A Kaiwa server in a child process for the kill -9 durability test: SQLite in the data directory it is
 * given, a fixed port and token secret so clients reconnect with the same tokens after a restart. With
 * KAIWA_PREPARE_USERS=n it first makes n users and a channel they are all in. It prints one JSON line on
 * standard output when it listens, and exits when its parent goes away.
 */

const dataDirectory = process.env.KAIWA_DATA_DIR ?? '';
const config = loadConfig({
  env: {
    KAIWA_DATA_DIR: dataDirectory,
    KAIWA_DATABASE_URL: `${dataDirectory}/kaiwa.sqlite`,
    KAIWA_JWT_SECRET: process.env.KAIWA_JWT_SECRET ?? '',
    KAIWA_ACCESS_TOKEN_TTL: '1h',
    HOST: '127.0.0.1',
    PORT: process.env.PORT ?? '0',
    LOG_LEVEL: 'error',
    NODE_ENV: 'test',
    // The kill test can run on any durability setting (e.g. KAIWA_SQLITE_SYNCHRONOUS=full-async).
    ...(process.env.KAIWA_SQLITE_SYNCHRONOUS
      ? { KAIWA_SQLITE_SYNCHRONOUS: process.env.KAIWA_SQLITE_SYNCHRONOUS }
      : {}),
  },
});
process.on('disconnect', () => process.exit(0));
setTimeout(() => process.exit(3), 120_000).unref();

const server = await buildServer(config, { logger: false, announce: () => {} });
const url = await server.listen();
const users = Number(process.env.KAIWA_PREPARE_USERS ?? 0);
const prepared: { roomId?: string; tokens: string[] } = { tokens: [] };
if (users > 0) {
  const ids: string[] = [];
  for (let index = 0; index < users; index += 1) {
    const session = await server.accounts.signInAnonymously(`durable-${index}`);
    prepared.tokens.push(session.accessToken);
    ids.push(session.user.id);
  }
  const room = await server.engine.createRoom(ids[0]!, { kind: 'channel', name: 'durable' });
  for (const id of ids.slice(1)) await server.engine.joinRoom(id, room.id);
  prepared.roomId = room.id;
}
process.stdout.write(`${JSON.stringify({ url, ...prepared })}\n`);
