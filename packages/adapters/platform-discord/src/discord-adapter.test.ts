import { PlatformError, type PlatformInboundEvent, silentPlatformLogger } from '@kaiwa/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDiscordAdapter, type DiscordAdapter } from './discord-adapter.js';
import { type FakeDiscordApi, startFakeDiscordApi } from './test-support/fake-discord-api.js';

const GENERAL = '700000000000000001';
const RANDOM = '700000000000000002';
const THREAD = '700000000000000003';
const ALICE = { id: '600000000000000001', username: 'alice' };
const BOB = { id: '600000000000000002', username: 'bob' };

async function until<T>(read: () => T | undefined, what: string, timeoutMs = 5000): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = read();
    if (value !== undefined) return value;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('DiscordAdapter against a fake Discord (REST + gateway)', () => {
  let fake: FakeDiscordApi;
  let adapter: DiscordAdapter;
  let plain: DiscordAdapter;
  const events: PlatformInboundEvent[] = [];
  const errors: unknown[] = [];

  const next = (predicate: (event: PlatformInboundEvent) => boolean, what: string) =>
    until(() => events.find(predicate), what);

  beforeAll(async () => {
    fake = await startFakeDiscordApi({
      channels: [
        { id: GENERAL, name: 'general', type: 0 },
        { id: RANDOM, name: 'random', type: 0 },
        { id: THREAD, name: 'a thread', type: 11, parent_id: GENERAL },
      ],
    });
    adapter = createDiscordAdapter({
      token: 'test-token',
      apiUrl: fake.apiUrl,
      webhooks: true,
      onError: (error) => errors.push(error),
    });
    await adapter.connect({
      accept: async (event) => {
        events.push(event);
      },
    });
    // A second adapter without webhooks: outbound only, no gateway.
    plain = createDiscordAdapter({ token: 'test-token', apiUrl: fake.apiUrl });
  });

  afterAll(async () => {
    await adapter?.disconnect();
    await plain?.client.destroy();
    await fake?.close();
  });

  it('identifies on the gateway with the intents, JSON and no compression, and knows itself', () => {
    expect(fake.gatewayQueries[0]).toMatchObject({ v: '10', encoding: 'json' });
    expect(fake.gatewayQueries[0]!.compress).toBeUndefined();
    const identify = fake.gatewayFrames.find((frame) => frame.op === 2)!.d as {
      token: string;
      intents: number;
    };
    expect(identify.token).toBe('test-token');
    // Guilds 1, GuildMessages 512, GuildMessageReactions 1024, DirectMessages 4096, DirectMessageReactions 8192, MessageContent 32768
    expect(identify.intents).toBe(1 | 512 | 1024 | 4096 | 8192 | 32768);
    expect(adapter.self).toMatchObject({ id: fake.bot.id, name: 'kaiwa-bot', isBot: true });
    expect(adapter.capabilities).toMatchObject({ maxTextLength: 2000, customAuthor: true, reactions: true });
    expect(plain.capabilities.customAuthor).toBe(false);
  });

  it('normalises a message that mentions the bot, replies to another and carries a file', async () => {
    const message = fake.message({
      content: `<@${fake.bot.id}> look at this, <@${BOB.id}>`,
      mentions: [fake.user(fake.bot.id, 'kaiwa-bot', { bot: true }), fake.user(BOB.id, BOB.username)],
      message_reference: { message_id: '111', channel_id: GENERAL },
      attachments: [
        { id: '5', filename: 'a.png', size: 3, url: 'https://cdn.example/a.png', content_type: 'image/png' },
      ],
      author: fake.user(ALICE.id, ALICE.username, { global_name: 'Alice A', avatar: 'abc' }),
    });
    fake.dispatch('MESSAGE_CREATE', message);
    const event = await next((candidate) => candidate.eventId === `message:${message.id}`, 'the message');
    expect(event).toMatchObject({
      kind: 'message',
      platform: 'discord',
      channelId: GENERAL,
      threadId: null,
      messageId: message.id,
      replyToMessageId: '111',
      author: { id: ALICE.id, name: 'alice', displayName: 'Alice A', isBot: false },
      text: '@kaiwa-bot look at this, @bob',
      mentions: { userIds: [fake.bot.id, BOB.id], bot: true },
      attachments: [{ name: 'a.png', mimeType: 'image/png', size: 3, url: 'https://cdn.example/a.png' }],
      direct: false,
    });
    expect(event.kind === 'message' && event.author.avatarUrl).toContain(`/avatars/${ALICE.id}/abc`);
  });

  it('puts a thread message under its parent channel, and a DM is direct', async () => {
    const inThread = fake.message({ channel_id: THREAD, content: 'in the thread' });
    fake.dispatch('MESSAGE_CREATE', inThread);
    expect(await next((event) => event.eventId === `message:${inThread.id}`, 'thread message')).toMatchObject(
      {
        channelId: GENERAL,
        threadId: THREAD,
        text: 'in the thread',
      },
    );
    const direct = fake.message({ channel_id: '555', guild_id: undefined, content: 'psst' });
    delete direct.guild_id;
    fake.dispatch('MESSAGE_CREATE', direct);
    expect(await next((event) => event.eventId === `message:${direct.id}`, 'DM')).toMatchObject({
      channelId: '555',
      direct: true,
      mentions: { bot: false },
    });
  });

  it('normalises edits (skipping embed-only updates), deletes and reactions', async () => {
    const original = fake.message({ content: 'first' });
    fake.dispatch('MESSAGE_UPDATE', { ...original, content: 'first', edited_timestamp: null, embeds: [{}] });
    fake.dispatch('MESSAGE_UPDATE', {
      ...original,
      content: 'second',
      edited_timestamp: '2026-01-01T00:00:01.000Z',
    });
    fake.dispatch('MESSAGE_DELETE', { id: original.id, channel_id: GENERAL, guild_id: fake.guild.id });
    const reaction = {
      user_id: BOB.id,
      channel_id: THREAD,
      message_id: original.id,
      guild_id: fake.guild.id,
      member: { user: fake.user(BOB.id, BOB.username), roles: [] },
      emoji: { id: null, name: '👍' },
    };
    const added = fake.dispatch('MESSAGE_REACTION_ADD', reaction);
    fake.dispatch('MESSAGE_REACTION_REMOVE', { ...reaction, member: undefined });
    fake.dispatch('MESSAGE_REACTION_ADD', { ...reaction, emoji: { id: '42', name: 'party' } });

    const removed = await next((event) => event.kind === 'reaction.removed', 'reaction removed');
    await next((event) => event.kind === 'reaction.added' && event.emoji === ':party:', 'custom emoji');
    const edits = events.filter(
      (event) => event.kind === 'message.edited' && event.messageId === original.id,
    );
    expect(edits).toEqual([
      expect.objectContaining({
        eventId: `message.edited:${original.id}:2026-01-01T00:00:01.000Z`,
        text: 'second',
        channelId: GENERAL,
        author: expect.objectContaining({ id: ALICE.id }),
      }),
    ]);
    expect(events.find((event) => event.eventId === `message.deleted:${original.id}`)).toMatchObject({
      kind: 'message.deleted',
      messageId: original.id,
      channelId: GENERAL,
    });
    expect(events.find((event) => event.kind === 'reaction.added' && event.emoji === '👍')).toMatchObject({
      eventId: `reaction.added:${original.id}:${BOB.id}:👍:${fake.sessionId}:${added}`,
      channelId: GENERAL,
      user: { id: BOB.id, name: 'bob' },
    });
    expect(removed).toMatchObject({ emoji: '👍', user: { id: BOB.id } });

    fake.dispatch('MESSAGE_DELETE_BULK', { ids: ['31', '32'], channel_id: THREAD, guild_id: fake.guild.id });
    await next((event) => event.eventId === 'message.deleted:32', 'bulk delete');
    expect(events.find((event) => event.eventId === 'message.deleted:31')).toMatchObject({
      channelId: GENERAL,
    });
  });

  it('turns a slash command into a command event, defers it, and answers it with the next send', async () => {
    const interaction = fake.interaction('Run', {
      channel_id: RANDOM,
      data: {
        id: '1',
        name: 'Run',
        type: 1,
        options: [
          { name: 'workflow', type: 3, value: 'invoice' },
          { name: 'fast', type: 5, value: true },
        ],
      },
    });
    const token = String(interaction.token);
    fake.dispatch('INTERACTION_CREATE', interaction);
    expect(await next((event) => event.kind === 'command', 'command')).toMatchObject({
      eventId: `command:${interaction.id}`,
      command: 'run',
      args: 'invoice true',
      channelId: RANDOM,
      threadId: null,
      user: { id: ALICE.id, name: 'alice' },
    });
    const callback = await until(
      () => fake.find('POST', `/interactions/${interaction.id}/${token}/callback`)[0],
      'interaction callback',
    );
    expect(callback.body).toEqual({ type: 5 });
    const [answer] = await adapter.send({ channelId: RANDOM }, { text: 'Started **invoice**' });
    const patch = fake.find('PATCH', `/webhooks/${fake.applicationId}/${token}/messages/@original`);
    expect(patch).toHaveLength(1);
    expect(patch[0]!.body).toMatchObject({ content: 'Started **invoice**' });
    // The answer can be edited in place (streamed replies).
    await adapter.edit(answer!, { text: 'Done' });
    expect(
      fake.find('PATCH', `/webhooks/${fake.applicationId}/${token}/messages/${answer!.messageId}`),
    ).toHaveLength(1);
    // Only the first send answers the command.
    await adapter.send({ channelId: RANDOM }, { text: 'again' });
    expect(fake.find('POST', `/channels/${RANDOM}/messages`).at(-1)!.body).toMatchObject({
      content: 'again',
    });
  });

  it('renders Kaiwa markdown for Discord: users seen inbound become <@id>, rooms <#id>', async () => {
    const [sent] = await adapter.send({ channelId: GENERAL }, { text: 'hi @bob, see #random and `@bob`' });
    expect(fake.messages.get(sent!.messageId)!.content).toBe(
      `hi <@${BOB.id}>, see <#${RANDOM}> and \`@bob\``,
    );
  });

  it('resumes after the gateway drops and keeps delivering', async () => {
    fake.dropGateway(4000);
    await until(() => fake.gatewayFrames.find((frame) => frame.op === 6), 'RESUME');
    const resume = fake.gatewayFrames.find((frame) => frame.op === 6)!.d as {
      session_id: string;
      token: string;
    };
    expect(resume).toMatchObject({ session_id: fake.sessionId, token: 'test-token' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const after = fake.message({ content: 'after the drop' });
    fake.dispatch('MESSAGE_CREATE', after);
    expect(
      await next((event) => event.eventId === `message:${after.id}`, 'message after resume'),
    ).toMatchObject({
      text: 'after the drop',
    });
  });

  it('sends, replies, edits, deletes and reacts with the right REST calls', async () => {
    const [sent] = await plain.send(
      { channelId: GENERAL },
      { text: 'Hello **world**', replyToMessageId: '123' },
    );
    const post = fake.find('POST', `/channels/${GENERAL}/messages`).at(-1)!;
    expect(post.headers.authorization).toBe('Bot test-token');
    expect(post.body).toMatchObject({
      content: 'Hello **world**',
      message_reference: { message_id: '123', fail_if_not_exists: false },
      allowed_mentions: { parse: ['users'] },
    });
    expect(sent).toEqual({ channelId: GENERAL, messageId: expect.any(String) });

    await plain.send(
      { channelId: GENERAL, threadId: THREAD },
      { text: 'in thread', author: { name: 'carol_x' } },
    );
    expect(fake.find('POST', `/channels/${THREAD}/messages`).at(-1)!.body).toMatchObject({
      content: '**carol\\_x**: in thread',
    });

    await plain.edit(sent!, { text: 'Edited' });
    expect(fake.find('PATCH', `/channels/${GENERAL}/messages/${sent!.messageId}`).at(-1)!.body).toMatchObject(
      {
        content: 'Edited',
      },
    );
    await plain.react(sent!, '👍');
    expect(
      fake.find('PUT', `/channels/${GENERAL}/messages/${sent!.messageId}/reactions/%F0%9F%91%8D/@me`),
    ).toHaveLength(1);
    await plain.unreact(sent!, '👍');
    expect(
      fake.find('DELETE', `/channels/${GENERAL}/messages/${sent!.messageId}/reactions/%F0%9F%91%8D/@me`),
    ).toHaveLength(1);
    await plain.delete(sent!);
    expect(fake.find('DELETE', `/channels/${GENERAL}/messages/${sent!.messageId}`)).toHaveLength(1);
  });

  it('opens the thread of a message when a reply goes to a thread that does not exist yet', async () => {
    const root = fake.message({ content: 'root' });
    const [sent] = await plain.send(
      { channelId: GENERAL, threadId: String(root.id) },
      { text: 'first reply' },
    );
    expect(fake.find('POST', `/channels/${GENERAL}/messages/${root.id}/threads`)[0]!.body).toMatchObject({
      name: 'first reply',
    });
    expect(fake.find('POST', `/channels/${root.id}/messages`)).toHaveLength(2); // 404, then after creating
    expect(sent).toMatchObject({ channelId: GENERAL, threadId: root.id });
  });

  it('posts with another author through a channel webhook, created once, and edits through it', async () => {
    const [first] = await adapter.send(
      { channelId: GENERAL },
      { text: 'bridged', author: { name: 'Carol', avatarUrl: 'https://example.org/c.png' } },
    );
    await adapter.send(
      { channelId: GENERAL, threadId: THREAD },
      { text: 'again', author: { name: 'Carol' } },
    );
    expect(fake.find('POST', `/channels/${GENERAL}/webhooks`)).toHaveLength(1);
    const webhook = fake.webhooks[0]!;
    const posts = fake.find('POST', `/webhooks/${webhook.id}/${webhook.token}`);
    expect(posts).toHaveLength(2);
    expect(posts[0]!.body).toMatchObject({
      content: 'bridged',
      username: 'Carol',
      avatar_url: 'https://example.org/c.png',
    });
    expect(posts[0]!.query).toEqual({ wait: 'true' });
    expect(posts[1]!.query).toEqual({ wait: 'true', thread_id: THREAD });
    expect(posts[0]!.headers.authorization).toBeUndefined();

    await adapter.edit(first!, { text: 'bridged, edited', author: { name: 'Carol' } });
    expect(
      fake.find('PATCH', `/webhooks/${webhook.id}/${webhook.token}/messages/${first!.messageId}`),
    ).toHaveLength(1);

    // After a restart the adapter no longer knows the message came from its webhook: the channel route
    // answers 50005 and the edit goes through the webhook again.
    const restarted = createDiscordAdapter({ token: 'test-token', apiUrl: fake.apiUrl, webhooks: true });
    await restarted.edit(first!, { text: 'edited after restart' });
    expect(fake.messages.get(first!.messageId)?.content).toBe('edited after restart');
    await restarted.delete(first!);
    expect(fake.messages.has(first!.messageId)).toBe(false);
    await restarted.client.destroy();

    // The webhook's own message coming back on the gateway is not echoed.
    const echo = fake.message({
      content: 'bridged',
      webhook_id: webhook.id,
      author: fake.user(webhook.id, 'Carol'),
    });
    fake.dispatch('MESSAGE_CREATE', echo);
    const marker = fake.message({ content: 'marker' });
    fake.dispatch('MESSAGE_CREATE', marker);
    await next((event) => event.eventId === `message:${marker.id}`, 'marker');
    expect(events.some((event) => event.eventId === `message:${echo.id}`)).toBe(false);
  });

  it('uploads files as multipart files[n] with payload_json', async () => {
    const data = new TextEncoder().encode('hello file');
    await plain.send(
      { channelId: GENERAL },
      { text: 'see attached', attachments: [{ name: 'notes.txt', mimeType: 'text/plain', data }] },
    );
    const upload = fake.find('POST', `/channels/${GENERAL}/messages`).at(-1)!;
    expect(upload.headers['content-type']).toMatch(/^multipart\/form-data/);
    expect(upload.body).toMatchObject({
      content: 'see attached',
      attachments: [{ id: 0, filename: 'notes.txt' }],
    });
    expect(upload.files).toHaveLength(1);
    expect(upload.files[0]).toMatchObject({
      field: 'files[0]',
      name: 'notes.txt',
      contentType: 'text/plain',
    });
    expect(new TextDecoder().decode(upload.files[0]!.data)).toBe('hello file');
  });

  it('waits out a 429 with retry_after and retries', async () => {
    fake.fail({
      method: 'POST',
      path: `/channels/${RANDOM}/messages`,
      status: 429,
      body: { message: 'You are being rate limited.', retry_after: 0.2, global: false },
      headers: {
        'retry-after': '0.2',
        'x-ratelimit-limit': '5',
        'x-ratelimit-remaining': '0',
        'x-ratelimit-reset-after': '0.2',
        'x-ratelimit-bucket': 'fake-bucket',
        'x-ratelimit-scope': 'user',
      },
    });
    const before = fake.find('POST', `/channels/${RANDOM}/messages`).length;
    const started = Date.now();
    const [sent] = await plain.send({ channelId: RANDOM }, { text: 'patient' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(180);
    expect(fake.find('POST', `/channels/${RANDOM}/messages`).length - before).toBe(2);
    expect(fake.messages.get(sent!.messageId)?.content).toBe('patient');
  });

  it('splits text over 2000 characters into several messages, each within the limit', async () => {
    const paragraph = `${'word '.repeat(120).trim()}\n\n`;
    const text = paragraph.repeat(10); // about 6000 characters
    const refs = await plain.send({ channelId: RANDOM }, { text });
    expect(refs.length).toBeGreaterThanOrEqual(3);
    const contents = refs.map((ref) => fake.messages.get(ref.messageId)!.content);
    for (const content of contents) expect(content.length).toBeLessThanOrEqual(2000);
    expect(contents.join(' ').replace(/\s+/g, ' ').trim()).toBe(text.replace(/\s+/g, ' ').trim());
  });

  it('splits a code block longer than a message into fenced parts', async () => {
    const code = Array.from({ length: 150 }, (_, line) => `const value${line} = ${line} * 2; // é 漢字`).join(
      '\n',
    );
    const refs = await plain.send(
      { channelId: RANDOM },
      { text: `Here:\n\n\`\`\`ts\n${code}\n\`\`\`\n\nDone.` },
    );
    expect(refs.length).toBeGreaterThanOrEqual(3);
    const contents = refs.map((ref) => fake.messages.get(ref.messageId)!.content);
    for (const content of contents) {
      expect(content.length).toBeLessThanOrEqual(2000);
      expect((content.match(/```/g) ?? []).length % 2).toBe(0);
    }
    for (let line = 0; line < 150; line += 1) {
      expect(contents.filter((content) => content.includes(`const value${line} =`))).toHaveLength(1);
    }
  });

  it('throws PlatformError for failures: not found, forbidden, too long an edit', async () => {
    const missing = plain.delete({ channelId: GENERAL, messageId: '1' });
    await expect(missing).rejects.toBeInstanceOf(PlatformError);
    await expect(missing).rejects.toMatchObject({ code: 'not_found', platform: 'discord', retryable: false });
    fake.fail({
      path: `/channels/${GENERAL}/messages`,
      status: 403,
      body: { message: 'Missing Access', code: 50001 },
    });
    await expect(plain.send({ channelId: GENERAL }, { text: 'x' })).rejects.toMatchObject({
      code: 'forbidden',
    });
    await expect(
      plain.edit({ channelId: GENERAL, messageId: '2' }, { text: 'y'.repeat(2001) }),
    ).rejects.toMatchObject({ code: 'invalid_request' });
    expect(() => createDiscordAdapter({ token: '' })).toThrow(/token/);
    expect(errors).toEqual([]);
  });
});

describe('DiscordAdapter when the sink cannot record', () => {
  it('retries accept, reports the loss, and tells the command user to try again', async () => {
    const fake = await startFakeDiscordApi();
    const errors: unknown[] = [];
    let attempts = 0;
    const adapter = createDiscordAdapter({
      token: 'test-token',
      apiUrl: fake.apiUrl,
      acceptAttempts: 2,
      logger: { ...silentPlatformLogger, error: (fields) => errors.push((fields as { err: unknown }).err) },
    });
    try {
      await adapter.connect({
        accept: async () => {
          attempts += 1;
          throw new Error('database is down');
        },
      });
      const interaction = fake.interaction('run');
      fake.dispatch('INTERACTION_CREATE', interaction);
      const callback = await until(
        () => fake.find('POST', `/interactions/${interaction.id}/${interaction.token}/callback`)[0],
        'callback',
      );
      expect(callback.body).toMatchObject({ type: 4, data: { flags: 64 } });
      expect(attempts).toBe(2);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toBeInstanceOf(PlatformError);
      expect((errors[0] as PlatformError).message).toContain(`command:${interaction.id}`);
    } finally {
      await adapter.disconnect();
      await fake.close();
    }
  });
});
