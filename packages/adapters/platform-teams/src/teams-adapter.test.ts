import { PlatformError, type PlatformInboundEvent } from '@kaiwa/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTeamsAdapter, type TeamsAdapter } from './teams-adapter.js';
import { type FakeBotConnector, startFakeBotConnector } from './test-support/fake-bot-connector.js';

const GENERAL = '19:general@thread.tacv2';

describe('TeamsAdapter against a fake Bot Framework connector', () => {
  let connector: FakeBotConnector;
  let adapter: TeamsAdapter;
  let botUrl: TeamsAdapter;
  const events: PlatformInboundEvent[] = [];
  let refuse = 0;

  beforeAll(async () => {
    connector = await startFakeBotConnector();
    adapter = createTeamsAdapter({ retry: { maxRetryAfterMs: 2000 } });
    await adapter.connect({
      accept: async (event) => {
        if (refuse > 0) {
          refuse -= 1;
          throw new Error('store is down');
        }
        events.push(event);
      },
    });
    botUrl = adapter;
  });

  afterAll(async () => {
    await adapter?.disconnect();
    await connector?.close();
  });

  it('normalises a channel message that mentions the bot and another user, and learns the conversation', async () => {
    const bot = connector.mention(connector.bot.id, connector.bot.name);
    const bob = connector.mention('29:bob-id', 'Bob Builder');
    const activity = connector.messageActivity({
      text: `${bot.text} please ask ${bob.text}`,
      entities: [bot.entity, bob.entity, { type: 'clientInfo', locale: 'en-US' }],
      attachments: [
        { contentType: 'text/html', content: '<p>dup</p>' },
        { contentType: 'image/png', contentUrl: 'https://files.example/a.png', name: 'a.png' },
      ],
    });
    const answer = await connector.deliver(botUrl, activity);
    expect(answer.status).toBe(200);
    expect(events.at(-1)).toMatchObject({
      kind: 'message',
      platform: 'teams',
      eventId: `message:${activity.id}`,
      channelId: GENERAL,
      threadId: null,
      messageId: activity.id,
      author: { id: '29:alice-id', name: 'Alice Example', isBot: false },
      text: '@Kaiwa Bot please ask @Bob Builder',
      mentions: { userIds: [connector.bot.id, '29:bob-id'], bot: true },
      attachments: [{ name: 'a.png', mimeType: 'image/png', url: 'https://files.example/a.png' }],
      direct: false,
    });
    expect(adapter.self).toMatchObject({ id: connector.bot.id, name: connector.bot.name, isBot: true });
    expect(adapter.conversations.get(GENERAL)).toMatchObject({
      serviceUrl: connector.serviceUrl,
      conversation: { id: GENERAL },
    });
  });

  it('puts a thread reply under its root, a personal chat is direct, and /cmd is a command', async () => {
    const reply = connector.messageActivity({
      text: 'in thread',
      conversation: { id: `${GENERAL};messageid=root-1`, conversationType: 'channel', isGroup: true },
      replyToId: 'root-1',
    });
    await connector.deliver(botUrl, reply);
    expect(events.at(-1)).toMatchObject({
      threadId: 'root-1',
      channelId: GENERAL,
      replyToMessageId: 'root-1',
    });

    const personal = connector.messageActivity({
      text: 'hi bot',
      conversation: { id: 'a:personal-chat', conversationType: 'personal' },
    });
    await connector.deliver(botUrl, personal);
    expect(events.at(-1)).toMatchObject({ channelId: 'a:personal-chat', direct: true, text: 'hi bot' });

    const bot = connector.mention(connector.bot.id, connector.bot.name);
    const command = connector.messageActivity({
      text: `${bot.text} /Run invoice  now`,
      entities: [bot.entity],
    });
    await connector.deliver(botUrl, command);
    expect(events.at(-1)).toEqual(
      expect.objectContaining({
        kind: 'command',
        eventId: `command:${command.id}`,
        command: 'run',
        args: 'invoice  now',
        channelId: GENERAL,
        user: expect.objectContaining({ id: '29:alice-id' }),
      }),
    );
  });

  it('normalises edits, deletes and reactions', async () => {
    await connector.deliver(
      botUrl,
      connector.messageActivity({
        type: 'messageUpdate',
        id: 'msg-7',
        text: 'edited text',
        timestamp: '2026-01-01T00:00:00.000Z',
        channelData: { eventType: 'editMessage' },
      }),
    );
    expect(events.at(-1)).toMatchObject({
      kind: 'message.edited',
      eventId: 'message.edited:msg-7:2026-01-01T00:00:00.000Z',
      messageId: 'msg-7',
      text: 'edited text',
    });
    await connector.deliver(
      botUrl,
      connector.messageActivity({
        type: 'messageDelete',
        id: 'msg-7',
        channelData: { eventType: 'softDeleteMessage' },
      }),
    );
    expect(events.at(-1)).toMatchObject({
      kind: 'message.deleted',
      eventId: 'message.deleted:msg-7',
      channelId: GENERAL,
    });
    const reaction = connector.messageActivity({
      type: 'messageReaction',
      replyToId: 'msg-8',
      reactionsAdded: [{ type: 'like' }],
      reactionsRemoved: [{ type: 'heart' }],
    });
    await connector.deliver(botUrl, reaction);
    expect(events.slice(-2)).toEqual([
      expect.objectContaining({
        kind: 'reaction.added',
        messageId: 'msg-8',
        emoji: '👍',
        eventId: `reaction.added:${reaction.id}:msg-8:like`,
      }),
      expect.objectContaining({ kind: 'reaction.removed', messageId: 'msg-8', emoji: '❤️' }),
    ]);
  });

  it('answers 503 when the event could not be recorded, so the Bot Framework delivers it again', async () => {
    refuse = 1;
    const activity = connector.messageActivity({ text: 'retry me' });
    const first = await connector.deliver(botUrl, activity);
    expect(first.status).toBe(503);
    expect(events.some((event) => event.eventId === `message:${activity.id}`)).toBe(false);
    const second = await connector.deliver(botUrl, activity);
    expect(second.status).toBe(200);
    expect(events.filter((event) => event.eventId === `message:${activity.id}`)).toHaveLength(1);
    const bad = await botUrl.handleWebhook(
      new Request('http://kaiwa.test/api/messages', {
        method: 'POST',
        body: 'not json',
        headers: { 'content-type': 'application/json' },
      }),
    );
    expect(bad.status).toBe(400);
  });

  it('sends a card to the conversation, replies in threads, edits and deletes through the connector', async () => {
    const [sent] = await adapter.send({ channelId: GENERAL }, { text: 'Hello **world**' });
    const post = connector.find('POST', GENERAL).at(-1)!;
    expect(post.path).toBe(`/v3/conversations/${GENERAL}/activities`);
    expect(post.body).toMatchObject({
      type: 'message',
      attachments: [
        {
          contentType: 'application/vnd.microsoft.card.adaptive',
          content: { type: 'AdaptiveCard', version: '1.5' },
        },
      ],
    });
    expect(post.headers.authorization).toBeUndefined();
    expect(sent).toEqual({ channelId: GENERAL, messageId: expect.any(String) });

    const [inThread] = await adapter.send({ channelId: GENERAL, threadId: 'root-1' }, { text: 'threaded' });
    expect(connector.find('POST', GENERAL).at(-1)!.path).toBe(
      `/v3/conversations/${GENERAL}/activities/root-1`,
    );
    expect(inThread).toMatchObject({ threadId: 'root-1' });

    await adapter.edit(sent!, { text: 'Hello again' });
    const put = connector.find('PUT', GENERAL).at(-1)!;
    expect(put.activityId).toBe(sent!.messageId);
    expect(JSON.stringify(put.body)).toContain('Hello again');

    await adapter.delete(sent!);
    expect(connector.find('DELETE', GENERAL).at(-1)!.activityId).toBe(sent!.messageId);
    expect(connector.activities.get(sent!.messageId)!.deleted).toBe(true);
  });

  it('turns @username into a Teams mention entity, in cards and in HTML text', async () => {
    const bob = { id: '29:bob-id', name: 'Bob Builder' };
    const text = createTeamsAdapter({
      messageFormat: 'text',
      apiUrl: connector.serviceUrl,
      mention: (username) => (username === 'bob' ? bob : undefined),
    });
    await text.send({ channelId: GENERAL }, { text: 'ping @bob about **this**' });
    const textPost = connector.find('POST', GENERAL).at(-1)!;
    expect(textPost.body).toMatchObject({
      type: 'message',
      textFormat: 'xml',
      entities: [{ type: 'mention', text: '<at>Bob Builder</at>', mentioned: bob }],
    });
    expect(textPost.body!.text).toBe('<p>ping <at>Bob Builder</at> about <b>this</b></p>');
    expect(textPost.body!.conversation).toMatchObject({ id: GENERAL });

    // Without a lookup, users seen inbound are matched by name.
    await connector.deliver(
      botUrl,
      connector.messageActivity({ text: 'hello', from: { id: '29:carol-id', name: 'carol' } }),
    );
    await adapter.send({ channelId: GENERAL }, { text: 'hi @carol' });
    const cardPost = connector.find('POST', GENERAL).at(-1)!;
    const card = (cardPost.body!.attachments as { content: { msteams: { entities: unknown[] } } }[])[0]!
      .content;
    expect(card.msteams.entities).toEqual([
      { type: 'mention', text: '<at>carol</at>', mentioned: { id: '29:carol-id', name: 'carol' } },
    ]);
    expect(cardPost.body!.summary).toBe('hi carol');
  });

  it('sends an image inline and refuses other files, and has no reactions', async () => {
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47]);
    await adapter.send(
      { channelId: GENERAL },
      { text: 'chart', attachments: [{ name: 'chart.png', mimeType: 'image/png', data: png }] },
    );
    const post = connector.find('POST', GENERAL).at(-1)!;
    expect((post.body!.attachments as unknown[]).at(-1)).toEqual({
      contentType: 'image/png',
      contentUrl: `data:image/png;base64,${Buffer.from(png).toString('base64')}`,
      name: 'chart.png',
    });
    await expect(
      adapter.send(
        { channelId: GENERAL },
        { text: 'x', attachments: [{ name: 'a.zip', mimeType: 'application/zip', data: png }] },
      ),
    ).rejects.toMatchObject({ code: 'unsupported' });
    await expect(adapter.react({ channelId: GENERAL, messageId: '1' }, '👍')).rejects.toMatchObject({
      code: 'unsupported',
      platform: 'teams',
    });
    expect(adapter.capabilities.reactions).toBe(false);
  });

  it('retries 429 and 503 answers after their Retry-After', async () => {
    connector.fail({ method: 'POST', status: 429, headers: { 'retry-after': '0.2' } });
    connector.fail({ method: 'POST', status: 503, headers: { 'retry-after': '0' } });
    const before = connector.find('POST', GENERAL).length;
    const started = Date.now();
    const [sent] = await adapter.send({ channelId: GENERAL }, { text: 'eventually' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(180);
    expect(connector.find('POST', GENERAL).length - before).toBe(3);
    expect(connector.activities.get(sent!.messageId)).toBeDefined();
  });

  it('throws PlatformError for unknown conversations and failed calls', async () => {
    const fresh = createTeamsAdapter();
    await expect(fresh.send({ channelId: '19:unknown' }, { text: 'x' })).rejects.toMatchObject({
      code: 'not_found',
    });
    // A reference saved before a restart makes the conversation reachable again.
    fresh.rememberConversation({
      serviceUrl: connector.serviceUrl,
      conversation: { id: '19:saved;messageid=1', isGroup: true, conversationType: 'channel', name: '' },
    });
    const [sent] = await fresh.send({ channelId: '19:saved' }, { text: 'back' });
    expect(connector.activities.get(sent!.messageId)!.conversationId).toBe('19:saved');
    const missing = adapter.edit({ channelId: GENERAL, messageId: 'nope' }, { text: 'x' });
    await expect(missing).rejects.toBeInstanceOf(PlatformError);
    await expect(missing).rejects.toMatchObject({ code: 'not_found', retryable: false });
  });
});
