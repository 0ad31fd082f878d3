import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFileSystemBlobStore } from '@kaiwa/blob-fs';
import { KaiwaRoomsAdapter } from '@kaiwa/bot';
import { ChatEngine, type ChatStore, silentPlatformLogger } from '@kaiwa/core';
import { createSlackAdapter } from '@kaiwa/platform-slack';
// The fake Slack Web API / Socket Mode and Telegram Bot API of the adapters' own test support, on 127.0.0.1.
import { FakeSlackApi, slackEventCallback } from '@kaiwa/platform-slack/testing';
import { createTelegramAdapter } from '@kaiwa/platform-telegram';
import { FakeTelegramApi } from '@kaiwa/platform-telegram/testing';
import { createSqliteStore } from '@kaiwa/store-kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { createBridge } from './bridge.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
async function until<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  what: string,
): Promise<T> {
  for (let attempt = 0; attempt < 1000; attempt++) {
    const value = await check();
    if (value) return value;
    await sleep(10);
  }
  throw new Error(`timed out waiting for ${what}`);
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('@kaiwa/bridge across Kaiwa, Slack and Telegram (fake platform servers)', () => {
  it('relays with custom authors where the platform has them, maps threads, and ignores its own copies', async () => {
    const slackApi = await FakeSlackApi.start({
      users: [{ id: 'U1', name: 'sato', realName: 'Sato', avatarUrl: 'https://example.com/sato.png' }],
    });
    const telegramApi = await FakeTelegramApi.start();
    const blobDirectory = mkdtempSync(join(tmpdir(), 'kaiwa-bridge-blobs-'));
    const blobs = createFileSystemBlobStore({ directory: blobDirectory });
    const store: ChatStore = await createSqliteStore({ filename: ':memory:' });
    await store.migrate();
    const engine = new ChatEngine({ store });
    const relay = await engine.createUser({ username: 'relay' });
    const alice = await engine.createUser({ username: 'alice', displayName: 'Alice' });
    const room = await engine.createRoom(alice.id, {
      kind: 'channel',
      name: 'general',
      memberIds: [relay.id],
    });
    const slack = createSlackAdapter({
      token: 'xoxb-test',
      apiUrl: slackApi.apiUrl,
      retry: { maxAttempts: 1 },
      receiver: { type: 'socket', appToken: 'xapp-test' },
    });
    const telegram = createTelegramAdapter({
      token: telegramApi.token,
      apiUrl: telegramApi.apiUrl,
      logger: silentPlatformLogger,
    });
    const bridge = createBridge({
      store,
      adapters: [new KaiwaRoomsAdapter({ engine, botUserId: relay.id, blobs }), slack, telegram],
      links: [
        {
          id: 'general',
          endpoints: [
            { platform: 'kaiwa', channelId: room.id },
            { platform: 'slack', channelId: 'C1' },
            { platform: 'telegram', channelId: '-100500' },
          ],
        },
      ],
      inbox: { pollMs: 10 },
      outbox: { pollMs: 10 },
    });
    await bridge.start();
    cleanups.push(async () => {
      await bridge.stop();
      engine.close();
      await store.close();
      await slackApi.close();
      await telegramApi.close();
      rmSync(blobDirectory, { recursive: true, force: true });
    });
    const kaiwaMessages = async (threadRootId?: string) =>
      (
        await engine.history(alice.id, {
          roomId: room.id,
          limit: 50,
          ...(threadRootId ? { threadRootId } : {}),
        })
      ).messages;

    // Kaiwa → Slack (custom author) and Telegram (bold prefix).
    const hello = await engine.sendMessage(alice.id, { roomId: room.id, text: 'hello everyone' });
    const [posted] = await until(
      () => slackApi.calls('chat.postMessage').length === 1 && slackApi.calls('chat.postMessage'),
      'Slack',
    );
    expect(posted!.params).toMatchObject({ channel: 'C1', username: 'Alice' });
    expect(String(posted!.params.text)).toContain('hello everyone');
    expect(String(posted!.params.text)).not.toContain('Alice');
    await until(() => telegramApi.calls('sendMessage').length === 1, 'Telegram');
    expect(String(telegramApi.calls('sendMessage')[0]!.params.text)).toContain(
      '<b>Alice</b>: hello everyone',
    );
    const slackCopy = await until(async () => {
      const group = await store.bridges.findMessage('kaiwa', room.id, hello.id);
      const copies = group[0] ? await store.bridges.listGroup('general', group[0].groupId) : [];
      return copies.find((entry) => entry.platform === 'slack');
    }, 'the Slack copy in the mapping');

    // A Slack user answers in the thread of the Slack copy: Kaiwa gets it in the thread of the original.
    await slackApi.sendSocketEvent(
      slackEventCallback({
        type: 'message',
        channel: 'C1',
        user: 'U1',
        text: 'answer from *Slack*',
        ts: '1800000000.000100',
        thread_ts: slackCopy.messageId,
      }),
    );
    const [inThread] = await until(async () => {
      const replies = await kaiwaMessages(hello.id);
      return replies.length === 1 && replies;
    }, 'the threaded copy in Kaiwa');
    expect(inThread).toMatchObject({
      authorId: relay.id,
      text: 'answer from **Slack**',
      metadata: { author: { name: 'Sato', avatarUrl: 'https://example.com/sato.png' } },
    });
    await until(
      () =>
        telegramApi
          .calls('sendMessage')
          .some((call) => String(call.params.text).includes('<b>Sato</b>: answer from')),
      'the Telegram copy of the Slack answer',
    );

    // Slack shows the bridge's own copy again (as another integration would see it): it is not relayed.
    await slackApi.sendSocketEvent(
      slackEventCallback({
        type: 'message',
        channel: 'C1',
        user: 'U1',
        text: 'hello everyone',
        ts: slackCopy.messageId,
      }),
    );
    await sleep(100);
    await bridge.drain();
    expect((await kaiwaMessages()).map((message) => message.text)).toEqual(['hello everyone']);
    expect(telegramApi.calls('sendMessage')).toHaveLength(2);
    expect(slackApi.calls('chat.postMessage')).toHaveLength(1);

    // A file from Telegram is downloaded once and uploaded again to Kaiwa and Slack.
    const bytes = new TextEncoder().encode('見積書 v2\n');
    telegramApi.files.set('documents/doc-1', bytes);
    telegramApi.pushUpdate({
      message: {
        message_id: 31,
        date: 1_800_000_000,
        chat: { id: -100500, type: 'supergroup', title: 'General' },
        from: { id: 77, is_bot: false, first_name: 'Kenji', username: 'kenji' },
        caption: 'the quote',
        document: {
          file_id: 'doc-1',
          file_name: 'quote.txt',
          mime_type: 'text/plain',
          file_size: bytes.byteLength,
        },
      },
    });
    const withFile = await until(
      async () => (await kaiwaMessages()).find((message) => message.attachments.length === 1),
      'the Kaiwa copy with its file',
    );
    expect(withFile.metadata.author).toEqual({ name: 'Kenji' });
    const record = await engine.getFileRecord(relay.id, withFile.attachments[0]!.fileId);
    expect(record).toMatchObject({ name: 'quote.txt', mimeType: 'text/plain', size: bytes.byteLength });
    await until(() => slackApi.calls('files.completeUploadExternal').length === 1, 'the Slack upload');
  });
});
