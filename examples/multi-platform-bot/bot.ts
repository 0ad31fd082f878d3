import { type Bot, createBot } from '@kaiwa/bot';
import type { ChatStore, PlatformAdapter } from '@kaiwa/core';

/** Words of an answer, one at a time, the way a language model streams its reply. */
export async function* streamAnswer(question: string, delayMs = 30): AsyncIterable<string> {
  const answer = `You asked: “${question.trim() || '…'}”. I am one bot on every platform: Kaiwa rooms, Slack, Discord, Telegram and Teams.`;
  for (const word of answer.split(/(?<= )/)) {
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    yield word;
  }
}

/**
 * The example bot. The same handlers answer on every adapter it is given:
 * - `echo <text>` repeats the text;
 * - `/run <task>` acknowledges the command, then reports it done;
 * - a mention gets a streamed answer, edited in place where the platform edits messages.
 */
export function createExampleBot(options: {
  store: ChatStore;
  adapters: PlatformAdapter[];
  streamDelayMs?: number;
}): Bot {
  const bot = createBot({
    name: 'example',
    adapters: options.adapters,
    store: options.store,
    streaming: { editIntervalMs: 300 },
  });
  bot.onMessage(/^echo\s+([\s\S]+)$/i, async (context) => {
    await context.reply(context.match![1]!);
  });
  bot.onCommand('run', async (context) => {
    const task = context.args || 'nothing';
    await context.reply(`▶️ running **${task}** on ${context.platform}`);
    await context.reply(`✅ ${task} done`);
  });
  bot.onMention(async (context) => {
    const question = context.text.replace(/@\S+/g, '').trim();
    await context.reply(streamAnswer(question, options.streamDelayMs), { thread: true });
  });
  return bot;
}
