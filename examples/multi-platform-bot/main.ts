import { createServer } from 'node:http';
import { KaiwaRoomsAdapter } from '@kaiwa/bot';
import { ChatEngine, type PlatformAdapter } from '@kaiwa/core';
import { createDiscordAdapter } from '@kaiwa/platform-discord';
import { createSlackAdapter } from '@kaiwa/platform-slack';
import { createTeamsAdapter } from '@kaiwa/platform-teams';
import { createTelegramAdapter } from '@kaiwa/platform-telegram';
import { createSqliteStore } from '@kaiwa/store-kysely';
import { createExampleBot } from './bot.js';

/*
 * Runs the example bot on Kaiwa rooms (always) and on every platform whose tokens are in the environment:
 *   SLACK_BOT_TOKEN + SLACK_APP_TOKEN (Socket Mode)   DISCORD_BOT_TOKEN   TELEGRAM_BOT_TOKEN (long polling)
 *   TEAMS_APP_ID + TEAMS_APP_PASSWORD (+ TEAMS_TENANT_ID, TEAMS_PORT; serves /api/messages)
 * KAIWA_BOT_DB names the SQLite file (default ./multi-platform-bot.sqlite).
 * Run: npm run example:bot
 */

const env = process.env;
const store = await createSqliteStore({ filename: env.KAIWA_BOT_DB ?? './multi-platform-bot.sqlite' });
await store.migrate();
const engine = new ChatEngine({ store });

const botUser =
  (await store.users.findByUsername('example-bot')) ??
  (await engine.createUser({ username: 'example-bot', displayName: 'Example bot' }));
const alice = (await store.users.findByUsername('alice')) ?? (await engine.createUser({ username: 'alice' }));
const lobby =
  (await store.rooms.findByName('bot-lobby')) ??
  (await engine.createRoom(alice.id, { kind: 'channel', name: 'bot-lobby', memberIds: [botUser.id] }));

const adapters: PlatformAdapter[] = [
  // resumeKey: events said while the bot was stopped are answered when it starts again.
  new KaiwaRoomsAdapter({ engine, botUserId: botUser.id, resumeKey: 'bot:example' }),
];
if (env.SLACK_BOT_TOKEN && env.SLACK_APP_TOKEN) {
  adapters.push(
    createSlackAdapter({
      token: env.SLACK_BOT_TOKEN,
      receiver: { type: 'socket', appToken: env.SLACK_APP_TOKEN },
    }),
  );
}
if (env.DISCORD_BOT_TOKEN) adapters.push(createDiscordAdapter({ token: env.DISCORD_BOT_TOKEN }));
if (env.TELEGRAM_BOT_TOKEN) adapters.push(createTelegramAdapter({ token: env.TELEGRAM_BOT_TOKEN }));
let teams: ReturnType<typeof createTeamsAdapter> | undefined;
if (env.TEAMS_APP_ID && env.TEAMS_APP_PASSWORD) {
  teams = createTeamsAdapter({
    token: env.TEAMS_APP_PASSWORD,
    auth: {
      MicrosoftAppId: env.TEAMS_APP_ID,
      MicrosoftAppType: env.TEAMS_TENANT_ID ? 'SingleTenant' : 'MultiTenant',
      ...(env.TEAMS_TENANT_ID ? { MicrosoftAppTenantId: env.TEAMS_TENANT_ID } : {}),
    },
  });
  adapters.push(teams);
}

const bot = createExampleBot({ store, adapters });
await bot.start();
if (teams) {
  // Teams posts to a messaging endpoint; the adapter takes each POST as a web Request.
  const endpoint = teams;
  const port = Number(env.TEAMS_PORT ?? 3978);
  createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const answer = await endpoint.handleWebhook(
      new Request(`http://localhost:${port}${request.url ?? '/'}`, {
        method: request.method ?? 'POST',
        headers: Object.entries(request.headers).flatMap(([name, value]) =>
          value === undefined ? [] : [[name, String(value)] as [string, string]],
        ),
        ...(request.method === 'POST' ? { body: Buffer.concat(chunks) } : {}),
      }),
    );
    response.writeHead(answer.status, Object.fromEntries(answer.headers));
    response.end(Buffer.from(await answer.arrayBuffer()));
  }).listen(port);
  console.log(`Teams endpoint: http://localhost:${port}/api/messages`);
}
console.log(`example bot running on ${adapters.map((adapter) => adapter.platform).join(', ')}`);

// Say something in the Kaiwa room, as alice, so there is something to see.
await engine.sendMessage(alice.id, { roomId: lobby.id, text: '@example-bot what can you do?' });
engine.events.on('message.updated', (event) => {
  if (event.payload.message.authorId === botUser.id)
    console.log(`[kaiwa] bot: ${event.payload.message.text}`);
});

const stop = async () => {
  await bot.stop();
  engine.close();
  await store.close();
  process.exit(0);
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
