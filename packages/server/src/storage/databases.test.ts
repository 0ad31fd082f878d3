import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { multipartBody, oneTimePasswordIn, startTestServer, type TestServer } from '../test-support.js';

/*
 * The server on PostgreSQL and MariaDB/MySQL, reached by URL as a deployment would configure it. Each run
 * gets a database of its own, dropped afterwards. Skipped (with a line saying how to run them) when the
 * test database URLs are not set.
 */

interface Dialect {
  name: string;
  variable: string;
  example: string;
  /** Runs one administrative statement on the server the URL points to. */
  admin: (url: string, statement: string) => Promise<void>;
}

const dialects: Dialect[] = [
  {
    name: 'PostgreSQL',
    variable: 'KAIWA_TEST_PG_URL',
    example: 'postgres://postgres@127.0.0.1:5432/test',
    admin: async (url, statement) => {
      const { default: pg } = await import('pg');
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(statement);
      } finally {
        await client.end();
      }
    },
  },
  {
    name: 'MariaDB/MySQL',
    variable: 'KAIWA_TEST_MYSQL_URL',
    example: 'mysql://root@127.0.0.1:3306/test',
    admin: async (url, statement) => {
      const { createConnection } = await import('mysql2/promise');
      const connection = await createConnection({ uri: url });
      try {
        await connection.query(statement);
      } finally {
        await connection.end();
      }
    },
  },
];

for (const dialect of dialects) {
  const url = process.env[dialect.variable];
  if (!url)
    console.info(`[server on ${dialect.name}] skipped: set ${dialect.variable}=${dialect.example} to run it`);

  describe.skipIf(!url)(`server on ${dialect.name}`, () => {
    const database = `kaiwa_server_${randomBytes(5).toString('hex')}`;
    let test: TestServer;

    beforeAll(async () => {
      await dialect.admin(url!, `create database ${database}`);
      const own = new URL(url!);
      own.pathname = `/${database}`;
      test = await startTestServer({ databaseUrl: own.toString() });
    });
    afterAll(async () => {
      await test?.close();
      await dialect.admin(url!, `drop database ${database}`);
    });

    it('migrates, creates the first admin, and serves accounts, rooms, messages, search and files', async () => {
      const password = oneTimePasswordIn(test.announcements[0] ?? '');
      const login = await test.call('POST', '/api/v1/auth/login', { body: { username: 'admin', password } });
      expect(login.statusCode).toBe(200);
      const changed = await test.call('POST', '/api/v1/auth/change-password', {
        token: login.json().accessToken,
        body: { currentPassword: password, newPassword: 'a database password 42' },
      });
      const token = changed.json().accessToken;
      const refreshed = await test.call('POST', '/api/v1/auth/refresh', {
        body: { refreshToken: changed.json().refreshToken },
      });
      expect(refreshed.statusCode).toBe(200);

      const room = (
        await test.call('POST', '/api/v1/rooms', { token, body: { kind: 'channel', name: 'general' } })
      ).json();
      const sent = await test.call('POST', `/api/v1/rooms/${room.id}/messages`, {
        token,
        body: { text: '絵文字も大丈夫 🎉', clientMessageId: 'db-1' },
      });
      expect(sent.statusCode).toBe(201);
      const again = await test.call('POST', `/api/v1/rooms/${room.id}/messages`, {
        token,
        body: { text: '絵文字も大丈夫 🎉', clientMessageId: 'db-1' },
      });
      expect(again.json().id).toBe(sent.json().id);
      const found = await test.call('GET', `/api/v1/search?query=${encodeURIComponent('絵文字')}`, { token });
      expect(found.json().messages.map((message: { id: string }) => message.id)).toEqual([sent.json().id]);
      const events = await test.call('GET', `/api/v1/rooms/${room.id}/events?afterSeq=0`, { token });
      expect(events.json().events).toEqual([expect.objectContaining({ seq: 1, type: 'message.created' })]);

      const { payload, headers } = multipartBody({ roomId: room.id }, { name: 'メモ.txt', content: 'hello' });
      const upload = await test.server.app.inject({
        method: 'POST',
        url: '/api/v1/files',
        headers: { ...headers, authorization: `Bearer ${token}` },
        payload,
      });
      expect(upload.statusCode).toBe(201);
      expect(upload.json().name).toBe('メモ.txt');
      expect((await test.call('GET', '/ready')).statusCode).toBe(200);
    });
  });
}
