import type { PlatformEventSink, PlatformInboundEvent } from '@kaiwa/core';
import { PlatformError } from '@kaiwa/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSlackAdapter, type SlackAdapter, type SlackAdapterConfig } from './index.js';
import { FakeSlackApi, slackEventCallback } from './testing.js';

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

const FAST_RETRY = { maxAttempts: 4, backoff: { initialMs: 10, maxMs: 20 } };
const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let fake: FakeSlackApi;
let adapter: SlackAdapter | undefined;

beforeEach(async () => {
  fake = await FakeSlackApi.start({
    users: [
      { id: 'U1', name: 'alice', realName: 'Alice A', avatarUrl: 'https://example.com/a.png' },
      { id: 'U2', name: 'bob' },
    ],
  });
});

afterEach(async () => {
  await adapter?.disconnect();
  adapter = undefined;
  await fake.close();
});

function make(receiver: SlackAdapterConfig['receiver']): SlackAdapter {
  adapter = createSlackAdapter({
    token: 'xoxb-test',
    apiUrl: fake.apiUrl,
    retry: FAST_RETRY,
    receiver,
  });
  return adapter;
}

describe('SlackAdapter over Socket Mode', () => {
  it('learns its bot user with auth.test and opens a Socket Mode connection', async () => {
    const slack = make({ type: 'socket', appToken: 'xapp-test' });
    await slack.connect(new RecordingSink());
    expect(slack.self).toEqual({ id: 'UBOT', name: 'kaiwa', isBot: true });
    expect(fake.calls('auth.test')[0]?.token).toBe('xoxb-test');
    expect(fake.calls('apps.connections.open')[0]?.token).toBe('xapp-test');
    expect(slack.capabilities).toMatchObject({ edit: true, customAuthor: true, maxTextLength: 40_000 });
  });

  it('normalises a mention, acknowledging only after the sink recorded it', async () => {
    const slack = make({ type: 'socket', appToken: 'xapp-test' });
    const sink = new RecordingSink();
    await slack.connect(sink);
    sink.hold();
    const delivery = fake.sendSocketEvent(
      slackEventCallback({
        type: 'message',
        channel: 'C1',
        channel_type: 'channel',
        user: 'U1',
        text: '<@UBOT> please check *this*',
        ts: '1700000000.000100',
        thread_ts: '1699999999.000001',
      }),
    );
    await delay(100);
    expect(sink.events).toHaveLength(0);
    release(sink);
    const { ack } = await delivery;
    expect(ack).toEqual({});
    const event = sink.events[0];
    expect(event).toMatchObject({
      kind: 'message',
      platform: 'slack',
      eventId: 'message:C1:1700000000.000100',
      channelId: 'C1',
      messageId: '1700000000.000100',
      threadId: '1699999999.000001',
      author: { id: 'U1', name: 'alice', displayName: 'Alice A', isBot: false },
      mentions: { userIds: ['UBOT'], bot: true },
      direct: false,
    });
    expect(event?.kind === 'message' && event.text).toBe('@kaiwa please check **this**');
  });

  it('gives message and app_mention of one message, and Slack retries, one event id', async () => {
    const slack = make({ type: 'socket', appToken: 'xapp-test' });
    const sink = new RecordingSink();
    await slack.connect(sink);
    const message = { channel: 'C1', user: 'U2', text: 'hi <@UBOT>', ts: '1700000001.000200' };
    const first = slackEventCallback({ type: 'message', ...message }, { eventId: 'Ev1' });
    await fake.sendSocketEvent(first);
    await fake.sendSocketEvent(first, { retryAttempt: 1, retryReason: 'timeout' });
    await fake.sendSocketEvent(slackEventCallback({ type: 'app_mention', ...message }, { eventId: 'Ev2' }));
    expect(sink.events.map((event) => event.eventId)).toEqual([
      'message:C1:1700000001.000200',
      'message:C1:1700000001.000200',
      'message:C1:1700000001.000200',
    ]);
  });

  it('normalises edits, deletes, reactions and DMs, and ignores its own messages', async () => {
    const slack = make({ type: 'socket', appToken: 'xapp-test' });
    const sink = new RecordingSink();
    await slack.connect(sink);
    await fake.sendSocketEvent(
      slackEventCallback({ type: 'message', channel: 'C1', user: 'UBOT', text: 'mine', ts: '1.1' }),
    );
    await fake.sendSocketEvent(
      slackEventCallback({
        type: 'message',
        subtype: 'bot_message',
        channel: 'C1',
        bot_id: 'BBOT',
        text: 'mine',
        ts: '1.2',
      }),
    );
    await fake.sendSocketEvent(
      slackEventCallback(
        {
          type: 'message',
          subtype: 'message_changed',
          channel: 'C1',
          message: { type: 'message', user: 'U1', text: 'fixed ~typo~', ts: '1.3' },
          previous_message: { type: 'message', user: 'U1', text: 'fixd', ts: '1.3' },
        },
        { eventId: 'EvEdit' },
      ),
    );
    await fake.sendSocketEvent(
      slackEventCallback(
        {
          type: 'message',
          subtype: 'message_deleted',
          channel: 'C1',
          deleted_ts: '1.3',
          previous_message: { user: 'U1', ts: '1.3' },
        },
        { eventId: 'EvDelete' },
      ),
    );
    await fake.sendSocketEvent(
      slackEventCallback(
        {
          type: 'reaction_added',
          user: 'U2',
          reaction: 'thumbsup',
          item: { type: 'message', channel: 'C1', ts: '1.3' },
        },
        { eventId: 'EvReact' },
      ),
    );
    await fake.sendSocketEvent(
      slackEventCallback(
        {
          type: 'reaction_removed',
          user: 'U2',
          reaction: 'some_custom_emoji',
          item: { type: 'message', channel: 'C1', ts: '1.3' },
        },
        { eventId: 'EvUnreact' },
      ),
    );
    fake.files.set('F1', new Uint8Array([7, 8, 9]));
    await fake.sendSocketEvent(
      slackEventCallback({
        type: 'message',
        subtype: 'file_share',
        channel: 'D9',
        channel_type: 'im',
        user: 'U2',
        text: 'psst',
        ts: '1.4',
        files: [
          {
            id: 'F1',
            name: 'a.bin',
            mimetype: 'application/octet-stream',
            size: 3,
            url_private: fake.fileUrl('F1', 'a.bin'),
          },
        ],
      }),
    );
    expect(sink.events).toMatchObject([
      {
        kind: 'message.edited',
        eventId: 'EvEdit',
        messageId: '1.3',
        author: { name: 'alice' },
        text: 'fixed ~~typo~~',
      },
      { kind: 'message.deleted', eventId: 'EvDelete', messageId: '1.3', channelId: 'C1' },
      { kind: 'reaction.added', eventId: 'EvReact', messageId: '1.3', user: { name: 'bob' }, emoji: '👍' },
      { kind: 'reaction.removed', eventId: 'EvUnreact', emoji: ':some_custom_emoji:' },
      {
        kind: 'message',
        channelId: 'D9',
        direct: true,
        text: 'psst',
        mentions: { userIds: [], bot: false },
        attachments: [
          { name: 'a.bin', mimeType: 'application/octet-stream', size: 3, url: fake.fileUrl('F1', 'a.bin') },
        ],
      },
    ]);
    const file = sink.events[4]?.kind === 'message' ? sink.events[4].attachments[0] : undefined;
    expect(file && [...(await slack.fetchAttachment(file))]).toEqual([7, 8, 9]);
  });

  it('records slash commands and acknowledges them', async () => {
    const slack = make({ type: 'socket', appToken: 'xapp-test' });
    const sink = new RecordingSink();
    await slack.connect(sink);
    const { ack } = await fake.sendSocketEvent(
      {
        command: '/Run',
        text: ' invoice 42 ',
        user_id: 'U1',
        user_name: 'alice',
        channel_id: 'C1',
        trigger_id: 'T.1',
      },
      { type: 'slash_commands' },
    );
    expect(ack).toBeDefined();
    expect(sink.events[0]).toMatchObject({
      kind: 'command',
      eventId: 'command:T.1',
      command: 'run',
      args: 'invoice 42',
      channelId: 'C1',
      user: { id: 'U1', name: 'alice' },
    });
  });

  it('leaves the envelope unacknowledged when the sink fails, so Slack redelivers', async () => {
    const slack = make({ type: 'socket', appToken: 'xapp-test' });
    const sink = new RecordingSink();
    await slack.connect(sink);
    sink.fail();
    const delivery = fake.sendSocketEvent(
      slackEventCallback({ type: 'message', channel: 'C1', user: 'U1', text: 'x', ts: '2.1' }),
    );
    let acked = false;
    void delivery.then(() => {
      acked = true;
    });
    await delay(200);
    expect(acked).toBe(false);
    expect(sink.events).toHaveLength(0);
  });
});

function release(sink: RecordingSink): void {
  sink.release();
}

describe('SlackAdapter over the Events API (the webhook its host serves)', () => {
  async function connectHttp(sink: RecordingSink): Promise<SlackAdapter> {
    const slack = make({ type: 'http', signingSecret: fake.signingSecret });
    await slack.connect(sink);
    return slack;
  }

  it('accepts signed events, answers 200 after recording, and keeps the event id on retries', async () => {
    const sink = new RecordingSink();
    const url = await connectHttp(sink);
    const body = slackEventCallback(
      {
        type: 'reaction_added',
        user: 'U1',
        reaction: 'tada',
        item: { type: 'message', channel: 'C7', ts: '3.1' },
      },
      { eventId: 'Ev3' },
    );
    expect((await fake.postToReceiver(url, body)).status).toBe(200);
    expect((await fake.postToReceiver(url, body, { retryNum: 1, retryReason: 'http_timeout' })).status).toBe(
      200,
    );
    expect(sink.events.map((event) => event.eventId)).toEqual(['Ev3', 'Ev3']);
    expect(sink.events[0]).toMatchObject({ kind: 'reaction.added', emoji: '🎉', channelId: 'C7' });
  });

  it('rejects bad signatures and answers 500 when the sink fails', async () => {
    const sink = new RecordingSink();
    const url = await connectHttp(sink);
    const body = slackEventCallback({ type: 'message', channel: 'C1', user: 'U1', text: 'x', ts: '4.1' });
    expect((await fake.postToReceiver(url, body, { signingSecret: 'wrong' })).status).toBe(401);
    sink.fail();
    expect((await fake.postToReceiver(url, body)).status).toBe(500);
    sink.fail(false);
    expect((await fake.postToReceiver(url, body, { retryNum: 1 })).status).toBe(200);
    expect(sink.events).toHaveLength(1);
  });

  it('answers url_verification and form-encoded slash commands', async () => {
    const sink = new RecordingSink();
    const url = await connectHttp(sink);
    const challenge = await fake.postToReceiver(url, {
      type: 'url_verification',
      challenge: 'abc',
      token: 't',
    });
    expect(challenge.status).toBe(200);
    expect(challenge.body).toContain('abc');
    const command = await fake.postToReceiver(
      url,
      {
        command: '/run',
        text: 'invoice',
        user_id: 'U2',
        user_name: 'bob',
        channel_id: 'C1',
        trigger_id: 'T.2',
        team_id: 'T1',
      },
      { form: true },
    );
    expect(command.status).toBe(200);
    expect(sink.events[0]).toMatchObject({
      kind: 'command',
      command: 'run',
      args: 'invoice',
      user: { name: 'bob' },
    });
  });
});

describe('SlackAdapter outbound', () => {
  async function connected(): Promise<SlackAdapter> {
    const slack = make({ type: 'socket', appToken: 'xapp-test' });
    await slack.connect(new RecordingSink());
    return slack;
  }

  it('posts mrkdwn and blocks with a custom author in a thread', async () => {
    const slack = await connected();
    const refs = await slack.send(
      { channelId: 'C1', threadId: '9.1' },
      {
        text: 'Hello **world**, see [docs](https://example.com)',
        author: { name: 'Alice (Kaiwa)', avatarUrl: 'https://example.com/a.png' },
      },
    );
    expect(refs).toHaveLength(1);
    expect(refs[0]).toMatchObject({ channelId: 'C1', threadId: '9.1' });
    const params = fake.calls('chat.postMessage')[0]?.params;
    expect(params).toMatchObject({
      channel: 'C1',
      thread_ts: '9.1',
      username: 'Alice (Kaiwa)',
      icon_url: 'https://example.com/a.png',
    });
    expect(params?.text).toContain('*world*');
    expect(params?.text).toContain('<https://example.com|docs>');
    expect(Array.isArray(params?.blocks)).toBe(true);
  });

  it('edits, deletes, reacts and unreacts with the right calls', async () => {
    const slack = await connected();
    const ref = { channelId: 'C1', messageId: '5.1' };
    await slack.edit(ref, { text: '_changed_' });
    await slack.delete(ref);
    await slack.react(ref, '👍');
    fake.failNext('reactions.add', { error: 'already_reacted' });
    await slack.react(ref, ':eyes:');
    await slack.unreact(ref, '👍');
    expect(fake.calls('chat.update')[0]?.params).toMatchObject({
      channel: 'C1',
      ts: '5.1',
      text: '_changed_',
    });
    expect(fake.calls('chat.delete')[0]?.params).toMatchObject({ channel: 'C1', ts: '5.1' });
    expect(fake.calls('reactions.add').map((call) => call.params.name)).toEqual(['+1', 'eyes']);
    expect(fake.calls('reactions.remove')[0]?.params).toMatchObject({ timestamp: '5.1', name: '+1' });
  });

  it('waits out a 429 with Retry-After and then succeeds', async () => {
    const slack = await connected();
    fake.failNext('chat.postMessage', { status: 429, retryAfterSeconds: 1 });
    const started = Date.now();
    const refs = await slack.send({ channelId: 'C1' }, { text: 'after the limit' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(refs).toHaveLength(1);
    expect(fake.calls('chat.postMessage')).toHaveLength(2);
  });

  it('splits over-long text into several messages', async () => {
    const slack = await connected();
    const paragraph = `${'word '.repeat(199)}end.\n\n`;
    const refs = await slack.send({ channelId: 'C1' }, { text: paragraph.repeat(50) });
    expect(refs.length).toBeGreaterThan(1);
    const calls = fake.calls('chat.postMessage');
    expect(calls).toHaveLength(refs.length);
    for (const call of calls) expect(String(call.params.text).length).toBeLessThanOrEqual(40_000);
  });

  it('uploads files through getUploadURLExternal, the upload URL and completeUploadExternal', async () => {
    const slack = await connected();
    const bytes = new TextEncoder().encode('col1,col2\n1,2\n');
    const refs = await slack.send(
      { channelId: 'C1', threadId: '9.2' },
      { text: 'the report', attachments: [{ name: 'report.csv', mimeType: 'text/csv', data: bytes }] },
    );
    expect(fake.calls('files.getUploadURLExternal')[0]?.params).toMatchObject({
      filename: 'report.csv',
      length: String(bytes.length),
    });
    expect(fake.uploads).toHaveLength(1);
    expect(Buffer.from(fake.uploads[0]?.bytes ?? []).toString()).toBe('col1,col2\n1,2\n');
    expect(fake.calls('files.completeUploadExternal')[0]?.params).toMatchObject({
      channel_id: 'C1',
      thread_ts: '9.2',
    });
    expect(refs).toHaveLength(2);
  });

  it('maps Slack errors to PlatformError codes', async () => {
    const slack = await connected();
    fake.failNext('chat.update', { error: 'message_not_found' });
    const notFound = await slack
      .edit({ channelId: 'C1', messageId: '0.1' }, { text: 'x' })
      .catch((error: unknown) => error);
    expect(notFound).toBeInstanceOf(PlatformError);
    expect(notFound).toMatchObject({ code: 'not_found', platform: 'slack', retryable: false });
    fake.failNext('chat.delete', { error: 'cant_delete_message' });
    await expect(slack.delete({ channelId: 'C1', messageId: '0.1' })).rejects.toMatchObject({
      code: 'forbidden',
    });
    fake.failNext('chat.postMessage', { status: 503 });
    fake.failNext('chat.postMessage', { status: 503 });
    fake.failNext('chat.postMessage', { status: 503 });
    fake.failNext('chat.postMessage', { status: 503 });
    await expect(slack.send({ channelId: 'C1' }, { text: 'x' })).rejects.toMatchObject({
      code: 'unavailable',
      retryable: true,
    });
  });
});
