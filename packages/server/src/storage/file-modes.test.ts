import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildServer } from '../app.js';
import { loadConfig } from '../config.js';
import { multipartBody, TEST_PASSWORD } from '../test-support.js';

/** A real 1×1 PNG. */
const PNG = Buffer.from(
  '89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360f8cf' +
    'c00000000301010018dd8db40000000049454e44ae426082',
  'hex',
);

const parent = mkdtempSync(join(tmpdir(), 'kaiwa-file-modes-'));
afterAll(() => rmSync(parent, { recursive: true, force: true }));

const modeOf = (path: string) => statSync(path).mode & 0o777;

describe.runIf(process.platform !== 'win32')('files the server creates on first start', () => {
  it('are readable by the server user only: data folder, SQLite file with -wal and -shm, uploads', async () => {
    const dataDirectory = join(parent, 'data');
    const config = loadConfig({
      env: { KAIWA_DATA_DIR: dataDirectory, LOG_LEVEL: 'silent', NODE_ENV: 'test' },
    });
    const server = await buildServer(config, { announce: () => {} });
    try {
      await server.accounts.createAccount({ username: 'modes', role: 'member', password: TEST_PASSWORD });
      const { accessToken } = await server.accounts.login('modes', TEST_PASSWORD);
      const room = await server.engine.createRoom((await server.engine.getUserByUsername('modes')).id, {
        kind: 'channel',
        name: 'modes',
      });
      const { payload, headers } = multipartBody({ roomId: room.id }, { name: 'dot.png', content: PNG });
      const upload = await server.app.inject({
        method: 'POST',
        url: '/api/v1/files',
        headers: { ...headers, authorization: `Bearer ${accessToken}` },
        payload,
      });
      expect(upload.statusCode).toBe(201);

      const database = join(dataDirectory, 'kaiwa.sqlite');
      expect(modeOf(dataDirectory)).toBe(0o700);
      for (const path of [
        database,
        `${database}-wal`,
        `${database}-shm`,
        join(dataDirectory, 'jwt-secret'),
      ]) {
        expect(modeOf(path), path).toBe(0o600);
      }
      const uploads = config.uploadDirectory;
      expect(modeOf(uploads)).toBe(0o700);
      const entries = readdirSync(uploads, { recursive: true, withFileTypes: true });
      expect(entries.some((entry) => entry.isFile())).toBe(true);
      for (const entry of entries) {
        const path = join(entry.parentPath, entry.name);
        expect(modeOf(path), path).toBe(entry.isDirectory() ? 0o700 : 0o600);
      }
    } finally {
      await server.close();
    }
  });
});
