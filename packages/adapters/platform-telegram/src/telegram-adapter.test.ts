import type { PlatformEventSink, PlatformInboundEvent } from '@kaiwa/core';
import { PlatformError, silentPlatformLogger } from '@kaiwa/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTelegramAdapter, type TelegramAdapter, type TelegramAdapterConfig } from './index.js';
import { FakeTelegramApi } from './testing.js';

/** A sink that records events; `hold()` makes accept wait until `release()`, `fail()` makes it throw. */
class RecordingSink implements PlatformEventSink {
  readonly events: PlatformInboundEvent[] = [];
  #gate: Promise<void> | undefined;
  #open: (() => void) | undefined;
  #failing = false;
  #waiters: { count: number; resolve: () => void }[] = [];

  async accept(event: PlatformInboundEvent): Promise<void> {
    if (this.#gate) await this.#gate;
    if (this.#failing) throw new Error('store is down');
    this.events.push(event);
    for (const waiter of this.#waiters.filter((w) => this.events.length >= w.count)) waiter.resolve();
  }

  hold(): void {
    this.#gate = new Promise((resolve) => {
      this.#open = resolve;
    });
  }

  release(): void {
    this.#open?.();
    this.#gate = undefined;
  }

  fail(failing = true): void {
    this.#failing = failing;
  }

  waitFor(count: number): Promise<void> {
    if (this.events.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ count, resolve }));
  }
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const GROUP = { id: -100200, type: 'supergroup', title: 'Team' };
const ALICE = { id: 42, is_bot: false, first_name: 'Alice', last_name: 'A', username: 'alice' };

let fake: FakeTelegramApi;
let adapter: TelegramAdapter | undefined;

beforeEach(async () => {
  fake = await FakeTelegramApi.start();
});

afterEach(async () => {
  await adapter?.disconnect();
  adapter = undefined;
  await fake.close();
});

function make(receiver?: TelegramAdapterConfig['receiver']): TelegramAdapter {
  adapter = createTelegramAdapter({
    token: fake.token,
    apiUrl: fake.apiUrl,
    ...(receiver ? { receiver } : {}),
    retry: { maxAttempts: 4, backoff: { initialMs: 10 } },
    logger: silentPlatformLogger,
  });
  return adapter;
}

function message(extra: Record<string, unknown>): Record<string, unknown> {
  return { message_id: 7, date: 1_700_000_000, chat: GROUP, from: ALICE, ...extra };
}

describe('TelegramAdapter with long polling', () => {
  it('learns its bot with getMe and polls for messages and reactions', async () => {
    const telegram = make();
    await telegram.connect(new RecordingSink());
    expect(telegram.self).toEqual({ id: '123456', name: 'kaiwa_bot', displayName: 'Kaiwa', isBot: true });
    await delay(50);
    expect(fake.calls('getMe')).toHaveLength(1);
    const poll = fake.calls('getUpdates')[0];
    expect(poll?.params.allowed_updates).toEqual(
      expect.arrayContaining(['message', 'edited_message', 'message_reaction']),
    );
    expect(telegram.capabilities).toMatchObject({ customAuthor: false, maxTextLength: 4096 });
  });

  it('normalises a mention and confirms the update only after the sink recorded it', async () => {
    const telegram = make();
    const sink = new RecordingSink();
    await telegram.connect(sink);
    sink.hold();
    const text = '@kaiwa_bot check this please';
    const updateId = fake.pushUpdate({
      message: message({
        text,
        message_thread_id: 3,
        reply_to_message: { message_id: 5, date: 1, chat: GROUP },
        entities: [
          { type: 'mention', offset: 0, length: 10 },
          { type: 'bold', offset: 11, length: 5 },
        ],
      }),
    });
    let confirmed = false;
    void fake.waitForConfirmed(updateId).then(() => {
      confirmed = true;
    });
    await delay(150);
    expect(confirmed).toBe(false);
    sink.release();
    await fake.waitForConfirmed(updateId);
    expect(sink.events[0]).toMatchObject({
      kind: 'message',
      platform: 'telegram',
      eventId: String(updateId),
      channelId: '-100200',
      messageId: '7',
      threadId: '3',
      replyToMessageId: '5',
      author: { id: '42', name: 'alice', displayName: 'Alice A', isBot: false },
      mentions: { userIds: ['123456'], bot: true },
      direct: false,
      at: '2023-11-14T22:13:20.000Z',
    });
    expect(sink.events[0]?.kind === 'message' && sink.events[0].text).toBe(
      '@kaiwa_bot **check** this please',
    );
  });

  it('turns /commands addressed to it into commands, and leaves other bots’ commands as messages', async () => {
    const telegram = make();
    const sink = new RecordingSink();
    await telegram.connect(sink);
    fake.pushUpdate({
      message: message({
        text: '/run invoice 42',
        entities: [{ type: 'bot_command', offset: 0, length: 4 }],
      }),
    });
    fake.pushUpdate({
      message: message({
        text: '/Run@kaiwa_bot invoice',
        entities: [{ type: 'bot_command', offset: 0, length: 14 }],
      }),
    });
    fake.pushUpdate({
      message: message({
        text: '/run@other_bot x',
        entities: [{ type: 'bot_command', offset: 0, length: 14 }],
      }),
    });
    await sink.waitFor(3);
    expect(sink.events).toMatchObject([
      { kind: 'command', command: 'run', args: 'invoice 42', user: { name: 'alice' } },
      { kind: 'command', command: 'run', args: 'invoice' },
      { kind: 'message', mentions: { bot: false } },
    ]);
  });

  it('normalises edits, reactions, direct messages and documents', async () => {
    const telegram = make();
    const sink = new RecordingSink();
    await telegram.connect(sink);
    fake.pushUpdate({ edited_message: message({ text: 'fixed', edit_date: 1_700_000_100 }) });
    const reactionUpdate = fake.pushUpdate({
      message_reaction: {
        chat: GROUP,
        message_id: 7,
        user: ALICE,
        date: 1_700_000_200,
        old_reaction: [{ type: 'emoji', emoji: '👎' }],
        new_reaction: [{ type: 'emoji', emoji: '👍' }],
      },
    });
    fake.pushUpdate({
      message: {
        message_id: 9,
        date: 1_700_000_300,
        chat: { id: 42, type: 'private', first_name: 'Alice' },
        from: ALICE,
        caption: 'the invoice',
        document: { file_id: 'FILE1', file_name: 'invoice.pdf', mime_type: 'application/pdf', file_size: 3 },
      },
    });
    await sink.waitFor(4);
    expect(sink.events).toMatchObject([
      { kind: 'message.edited', messageId: '7', text: 'fixed', at: '2023-11-14T22:15:00.000Z' },
      {
        kind: 'reaction.added',
        eventId: `${reactionUpdate}:0`,
        emoji: '👍',
        messageId: '7',
        user: { id: '42' },
      },
      { kind: 'reaction.removed', eventId: `${reactionUpdate}:1`, emoji: '👎' },
      {
        kind: 'message',
        direct: true,
        text: 'the invoice',
        attachments: [
          { name: 'invoice.pdf', mimeType: 'application/pdf', size: 3, url: 'telegram-file:FILE1' },
        ],
      },
    ]);
    fake.files.set('documents/FILE1', new Uint8Array([1, 2, 3]));
    const attachment = sink.events[3]?.kind === 'message' ? sink.events[3].attachments[0] : undefined;
    expect(attachment && [...(await telegram.fetchAttachment(attachment))]).toEqual([1, 2, 3]);
  });

  it('keeps retrying a failing sink instead of confirming the update', async () => {
    const telegram = make();
    const sink = new RecordingSink();
    await telegram.connect(sink);
    sink.fail();
    const updateId = fake.pushUpdate({ message: message({ text: 'important' }) });
    let confirmed = false;
    void fake.waitForConfirmed(updateId).then(() => {
      confirmed = true;
    });
    await delay(250);
    expect(confirmed).toBe(false);
    sink.fail(false);
    await fake.waitForConfirmed(updateId);
    expect(sink.events).toMatchObject([{ kind: 'message', eventId: String(updateId) }]);
  });
});

describe('TelegramAdapter with a webhook (served by its host)', () => {
  async function connectWebhook(sink: RecordingSink, webhookUrl?: string): Promise<TelegramAdapter> {
    const telegram = make({
      type: 'webhook',
      secretToken: 's3cret',
      ...(webhookUrl !== undefined ? { webhookUrl } : {}),
    });
    await telegram.connect(sink);
    return telegram;
  }

  it('accepts updates with the secret token and answers 200 after recording', async () => {
    const sink = new RecordingSink();
    const url = await connectWebhook(sink, 'https://bot.example.com/telegram/webhook');
    expect(fake.calls('setWebhook')[0]?.params).toMatchObject({
      url: 'https://bot.example.com/telegram/webhook',
      secret_token: 's3cret',
    });
    const update = { update_id: 77, message: message({ text: 'hi' }) };
    expect((await fake.postWebhook(url, update, { secretToken: 's3cret' })).status).toBe(200);
    expect((await fake.postWebhook(url, update, { secretToken: 's3cret' })).status).toBe(200);
    expect(sink.events.map((event) => event.eventId)).toEqual(['77', '77']);
  });

  it('refuses a wrong secret and answers 500 when the sink fails, so Telegram redelivers', async () => {
    const sink = new RecordingSink();
    const url = await connectWebhook(sink);
    expect(
      (await fake.postWebhook(url, { message: message({ text: 'x' }) }, { secretToken: 'nope' })).status,
    ).toBe(403);
    sink.fail();
    expect(
      (await fake.postWebhook(url, { message: message({ text: 'x' }) }, { secretToken: 's3cret' })).status,
    ).toBe(500);
    expect(sink.events).toHaveLength(0);
  });
});

describe('TelegramAdapter outbound', () => {
  async function connected(): Promise<TelegramAdapter> {
    const telegram = make({ type: 'webhook', secretToken: 's' });
    await telegram.connect(new RecordingSink());
    return telegram;
  }

  it('sends HTML with the author in bold, as a reply in the thread', async () => {
    const telegram = await connected();
    const refs = await telegram.send(
      { channelId: '-100200', threadId: '3' },
      { text: 'Hello **world** <b>not html</b>', author: { name: 'Alice' } },
    );
    expect(refs).toEqual([{ channelId: '-100200', threadId: '3', messageId: expect.any(String) }]);
    const params = fake.calls('sendMessage')[0]?.params;
    expect(params).toMatchObject({
      chat_id: '-100200',
      parse_mode: 'HTML',
      reply_parameters: { message_id: 3, allow_sending_without_reply: true },
    });
    expect(params?.text).toContain('<b>Alice:</b>');
    expect(params?.text).toContain('<b>world</b>');
    expect(params?.text).toContain('&lt;b&gt;not html&lt;/b&gt;');
  });

  it('posts into a forum topic with message_thread_id', async () => {
    const sink = new RecordingSink();
    const telegram = make({ type: 'webhook', secretToken: 's' });
    await telegram.connect(sink);
    await fake.postWebhook(
      telegram,
      { message: message({ text: 'in topic', message_thread_id: 11, is_topic_message: true }) },
      {
        secretToken: 's',
      },
    );
    await telegram.send({ channelId: '-100200', threadId: '11' }, { text: 'answer' });
    const params = fake.calls('sendMessage')[0]?.params;
    expect(params?.message_thread_id).toBe(11);
    expect(params?.reply_parameters).toBeUndefined();
  });

  it('edits, deletes, reacts and unreacts with the right calls', async () => {
    const telegram = await connected();
    const ref = { channelId: '-100200', messageId: '7' };
    await telegram.edit(ref, { text: '_changed_' });
    fake.failNext('editMessageText', { errorCode: 400, description: 'Bad Request: message is not modified' });
    await telegram.edit(ref, { text: '_changed_' });
    await telegram.delete(ref);
    await telegram.react(ref, '👍');
    await telegram.unreact(ref, '👍');
    expect(fake.calls('editMessageText')[0]?.params).toMatchObject({
      chat_id: '-100200',
      message_id: 7,
      parse_mode: 'HTML',
    });
    expect(fake.calls('editMessageText')[0]?.params.text).toContain('<i>changed</i>');
    expect(fake.calls('deleteMessage')[0]?.params).toMatchObject({ chat_id: '-100200', message_id: 7 });
    expect(fake.calls('setMessageReaction').map((call) => call.params.reaction)).toEqual([
      [{ type: 'emoji', emoji: '👍' }],
      [],
    ]);
  });

  it('waits out a 429 with retry_after and then succeeds', async () => {
    const telegram = await connected();
    fake.failNext('sendMessage', { errorCode: 429, retryAfterSeconds: 1 });
    const started = Date.now();
    const refs = await telegram.send({ channelId: '-100200' }, { text: 'after the limit' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(refs).toHaveLength(1);
    expect(fake.calls('sendMessage')).toHaveLength(2);
  });

  it('splits over-long text into several messages', async () => {
    const telegram = await connected();
    const paragraph = `${'слово '.repeat(150)}конец.\n\n`;
    const refs = await telegram.send({ channelId: '-100200' }, { text: paragraph.repeat(10) });
    expect(refs.length).toBeGreaterThan(1);
    for (const call of fake.calls('sendMessage'))
      expect(String(call.params.text).length).toBeLessThanOrEqual(4096);
  });

  it('uploads images with sendPhoto and other files with sendDocument', async () => {
    const telegram = await connected();
    const refs = await telegram.send(
      { channelId: '-100200' },
      {
        text: 'files',
        attachments: [
          { name: 'chart.png', mimeType: 'image/png', data: new Uint8Array([137, 80, 78, 71]) },
          { name: 'report.csv', mimeType: 'text/csv', data: new TextEncoder().encode('a,b\n') },
        ],
      },
    );
    expect(refs).toHaveLength(3);
    const photo = fake.calls('sendPhoto')[0]?.params.photo;
    expect(photo).toBeInstanceOf(File);
    expect((photo as File).name).toBe('chart.png');
    const document = fake.calls('sendDocument')[0]?.params.document as File;
    expect(document.name).toBe('report.csv');
    expect(await document.text()).toBe('a,b\n');
  });

  it('maps Telegram errors to PlatformError codes', async () => {
    const telegram = await connected();
    fake.failNext('deleteMessage', {
      errorCode: 400,
      description: 'Bad Request: message to delete not found',
    });
    const error = await telegram
      .delete({ channelId: '-100200', messageId: '1' })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PlatformError);
    expect(error).toMatchObject({ code: 'not_found', platform: 'telegram', retryable: false });
    fake.failNext('sendMessage', {
      errorCode: 403,
      description: 'Forbidden: bot was kicked from the group chat',
    });
    await expect(telegram.send({ channelId: '-1' }, { text: 'x' })).rejects.toMatchObject({
      code: 'forbidden',
    });
    fake.failNext('sendMessage', { errorCode: 429, retryAfterSeconds: 3600 });
    await expect(telegram.send({ channelId: '-1' }, { text: 'x' })).rejects.toMatchObject({
      code: 'rate_limited',
      retryAfterMs: 3_600_000,
      retryable: true,
    });
  });
});
