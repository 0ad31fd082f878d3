import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqliteStore } from '@kaiwa/store-kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { runEmbeddedChat } from './chat.js';

const dir = mkdtempSync(join(tmpdir(), 'kaiwa-example-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('examples/embedded-chat', () => {
  it('holds a conversation with a thread on SQLite, and keeps it across runs', async () => {
    const filename = join(dir, 'chat.sqlite');
    const first = await createSqliteStore({ filename });
    await first.migrate();
    const lines = await runEmbeddedChat(first);
    await first.close();
    expect(lines).toContain('#general — latest 2 messages:');
    expect(lines.some((line) => /Alice: Hello @taro! .* 🎉×1$/.test(line))).toBe(true);
    expect(lines).toContain('    ↳ 山田太郎: はい、もちろん！スレッドで話しましょう。');
    expect(lines).toContain('unread for 山田太郎: 1');
    expect(lines.filter((line) => line.includes('[event #'))).toHaveLength(4);

    const second = await createSqliteStore({ filename });
    await second.migrate();
    const again = await runEmbeddedChat(second);
    await second.close();
    expect(again).toContain('#general — latest 4 messages:');
    expect(again).toContain(
      'search "スレッド": 2 match(es), newest: "はい、もちろん！スレッドで話しましょう。"',
    );
  });
});
