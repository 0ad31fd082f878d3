import type { ChatMessage, Message } from '@kaiwa/core';

/**
 * Rough token count for models without a tokenizer at hand: every non-ASCII character (kana, kanji, emoji)
 * counts as one token, ASCII text as one token per four characters, plus four tokens of per-message
 * overhead. It over-estimates more often than it under-estimates, which is the safe side for a budget.
 *
 * @example estimateTokens('hello world') // 3 + 4
 */
export function estimateTokens(text: string): number {
  let ascii = 0;
  let other = 0;
  for (const character of text) {
    if ((character.codePointAt(0) ?? 0) < 0x80) ascii += 1;
    else other += 1;
  }
  return Math.ceil(ascii / 4) + other + 4;
}

export interface BuildContextInput {
  systemPrompt: string;
  /** Earlier messages of the room or thread, oldest first. */
  history: Message[];
  /** The message being answered; it goes last. */
  asking: Message;
  botUserId: string;
  /** Display names by user id, to tell speakers apart. */
  names: Map<string, string>;
  /** Tokens the prompt may use (context window less the tokens kept for the answer). */
  budget: number;
  /** Defaults to {@link estimateTokens}. */
  countTokens?: (text: string) => number;
}

/**
 * The conversation to send: the system prompt, as many recent messages as fit in the budget (newest kept
 * first, deleted ones left out), and the asking message last. Other people's messages are user turns
 * prefixed with their name; the assistant's own are assistant turns.
 */
export function buildContext(input: BuildContextInput): ChatMessage[] {
  const count = input.countTokens ?? estimateTokens;
  const asText = (message: Message): ChatMessage =>
    message.authorId === input.botUserId
      ? { role: 'assistant', content: message.text }
      : { role: 'user', content: `${input.names.get(message.authorId) ?? 'someone'}: ${message.text}` };
  const system: ChatMessage = { role: 'system', content: input.systemPrompt };
  const last = asText(input.asking);
  let left = input.budget - count(system.content) - count(last.content);
  const kept: ChatMessage[] = [];
  for (let index = input.history.length - 1; index >= 0; index -= 1) {
    const message = input.history[index]!;
    if (message.deletedAt || message.text.trim() === '' || message.id === input.asking.id) continue;
    const turn = asText(message);
    const cost = count(turn.content);
    if (cost > left) break;
    left -= cost;
    kept.unshift(turn);
  }
  return [system, ...kept, last];
}
