import type { ChatMessage } from '@kaiwa/core';

/**
 * One `[INST] … [/INST] …` turn of a formatted prompt, without its BOS/EOS markers. A backend that tokenises
 * itself encodes `text` and adds the BOS token id before it (always) and the EOS token id after it when `eos`
 * is true — exactly what Meta's `chat_completion` does with `encode(..., bos=True, eos=…)`.
 */
export interface PromptTurn {
  text: string;
  eos: boolean;
}

/** A formatted prompt: as one string with textual markers, and as turns for token-id encoding. */
export interface FormattedPrompt {
  /** The prompt with BOS/EOS written as text (`<s>`, `</s>`), or without BOS when `bos: 'omit'`. */
  prompt: string;
  turns: PromptTurn[];
}

/** Turns chat messages into a raw prompt for a backend that completes text. */
export interface ChatTemplate {
  readonly name: string;
  /** Strings that end the assistant's answer; backends add them to the caller's stop sequences. */
  readonly stopSequences: readonly string[];
  format(messages: ChatMessage[]): FormattedPrompt;
}

export interface Llama2ChatTemplateConfig {
  /** Used when the messages carry no system message; none when unset. */
  defaultSystemPrompt?: string;
  /**
   * `'text'` (default) writes BOS as `<s>` into `prompt`, for tokenizers that parse special tokens in text
   * (transformers.js, llama.cpp with special parsing). `'omit'` leaves the first BOS out, for servers that add
   * BOS themselves (llama.cpp `/completion`, `/v1/completions`); later turns keep their `<s>`.
   */
  bos?: 'text' | 'omit';
  /** Text after the final `[/INST]`: `''` in Meta's reference, `' '` in ELYZA's model card. */
  generationPrefix?: string;
  name?: string;
}

export const LLAMA2_BOS = '<s>';
export const LLAMA2_EOS = '</s>';
const B_INST = '[INST]';
const E_INST = '[/INST]';
const B_SYS = '<<SYS>>\n';
const E_SYS = '\n<</SYS>>\n\n';

/**
 * The Llama-2 chat format of Meta's reference `chat_completion` (llama/generation.py): an optional system
 * prompt folded into the first user turn inside `<<SYS>>`, every completed exchange as
 * `<s>[INST] {user} [/INST] {assistant} </s>`, and the last user turn as `<s>[INST] {user} [/INST]`. Contents
 * are trimmed as Meta does. Messages must alternate user/assistant after the optional system message and end
 * with a user message; tool messages are sent as user turns and assistant tool calls are dropped, since
 * Llama-2 has no tool format.
 *
 * @example
 * const template = createLlama2ChatTemplate();
 * template.format([{ role: 'user', content: 'Hi' }]).prompt; // '<s>[INST] Hi [/INST]'
 */
export function createLlama2ChatTemplate(config: Llama2ChatTemplateConfig = {}): ChatTemplate {
  const bos = config.bos ?? 'text';
  const generationPrefix = config.generationPrefix ?? '';
  return {
    name: config.name ?? 'llama-2',
    stopSequences: [LLAMA2_EOS],
    format(messages) {
      const dialog = messages.map((message) => ({
        role: message.role === 'tool' ? 'user' : message.role,
        content: message.content,
      }));
      let system = config.defaultSystemPrompt;
      if (dialog[0]?.role === 'system') {
        system = dialog.shift()?.content;
      }
      const first = dialog[0];
      if (system !== undefined && first) {
        first.content = `${B_SYS}${system}${E_SYS}${first.content}`;
      }
      dialog.forEach((message, index) => {
        const expected = index % 2 === 0 ? 'user' : 'assistant';
        if (message.role !== expected) {
          throw new TypeError(
            `Llama-2 chat template: message ${index} should be ${expected}, got ${message.role} ` +
              '(after an optional system message, roles must alternate user/assistant)',
          );
        }
      });
      if (dialog.length === 0 || dialog.length % 2 === 0) {
        throw new TypeError('Llama-2 chat template: the last message must be from the user');
      }
      const turns: PromptTurn[] = [];
      for (let index = 0; index + 1 < dialog.length; index += 2) {
        const user = dialog[index]!.content.trim();
        const assistant = dialog[index + 1]!.content.trim();
        turns.push({ text: `${B_INST} ${user} ${E_INST} ${assistant} `, eos: true });
      }
      turns.push({
        text: `${B_INST} ${dialog.at(-1)!.content.trim()} ${E_INST}${generationPrefix}`,
        eos: false,
      });
      const prompt = turns
        .map((turn, index) => {
          const start = index === 0 && bos === 'omit' ? '' : LLAMA2_BOS;
          return `${start}${turn.text}${turn.eos ? LLAMA2_EOS : ''}`;
        })
        .join('');
      return { prompt, turns };
    },
  };
}
