import { chmodSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { createSqliteStore } from './sqlite.js';

const directory = mkdtempSync(join(tmpdir(), 'kaiwa-sqlite-file-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

const modeOf = (path: string) => statSync(path).mode & 0o777;
const posix = process.platform !== 'win32';

describe('the SQLite file', () => {
  it.runIf(posix)('is created readable by its owner only, and so are its -wal and -shm files', async () => {
    const filename = join(directory, 'private.sqlite');
    const store = await createSqliteStore({ filename });
    try {
      await store.migrate();
      await store.users.count();
      expect(existsSync(`${filename}-wal`)).toBe(true);
      expect(existsSync(`${filename}-shm`)).toBe(true);
      for (const path of [filename, `${filename}-wal`, `${filename}-shm`])
        expect(modeOf(path), path).toBe(0o600);
    } finally {
      await store.close();
    }
  });

  it.runIf(posix)('keeps the mode of a database file that exists', async () => {
    const filename = join(directory, 'shared.sqlite');
    writeFileSync(filename, '');
    chmodSync(filename, 0o640);
    const store = await createSqliteStore({ filename });
    await store.close();
    expect(modeOf(filename)).toBe(0o640);
  });

  it('still reports a missing folder as better-sqlite3 does', async () => {
    await expect(createSqliteStore({ filename: join(directory, 'missing', 'x.sqlite') })).rejects.toThrow(
      /directory does not exist/,
    );
  });

  it('syncs every commit (synchronous = FULL) unless normal is asked for', async () => {
    const durableFile = new Database(join(directory, 'full.sqlite'));
    const fastFile = new Database(join(directory, 'normal.sqlite'));
    const durable = await createSqliteStore({ database: durableFile });
    const fast = await createSqliteStore({ database: fastFile, synchronous: 'normal' });
    try {
      expect(durableFile.pragma('synchronous', { simple: true })).toBe(2); // FULL
      expect(fastFile.pragma('synchronous', { simple: true })).toBe(1); // NORMAL
      expect(durableFile.pragma('journal_mode', { simple: true })).toBe('wal');
    } finally {
      await durable.close();
      await fast.close();
    }
  });
});
