import { type ChatTemplate, createLlama2ChatTemplate } from './llama2-chat-template.js';

/** ELYZA's default system prompt from its model card: "You are a sincere and excellent Japanese assistant." */
export const ELYZA_DEFAULT_SYSTEM_PROMPT = 'あなたは誠実で優秀な日本人のアシスタントです。';

export type ElyzaVariant = 'instruct' | 'fast-instruct';

/** A model preset: the Hugging Face id, its chat template and sensible generation defaults. */
export interface ModelPreset {
  modelId: string;
  template: ChatTemplate;
  stopSequences: readonly string[];
  defaults: { maxTokens: number; temperature: number };
}

export interface ElyzaPresetConfig {
  /** `'instruct'` (default) or `'fast-instruct'` (extended Japanese vocabulary, same prompt format). */
  variant?: ElyzaVariant;
  /** Replaces ELYZA's default Japanese system prompt when the messages carry none. */
  systemPrompt?: string;
  /** See {@link Llama2ChatTemplateConfig.bos}. */
  bos?: 'text' | 'omit';
}

/**
 * The preset for ELYZA-japanese-Llama-2-7b (instruct and fast-instruct): the Llama-2 chat format with ELYZA's
 * default Japanese system prompt, and, as in ELYZA's model card usage, a space after the final `[/INST]`.
 *
 * @example
 * const { template } = createElyzaPreset({ variant: 'fast-instruct' });
 * template.format([{ role: 'user', content: 'こんにちは' }]).prompt;
 * // '<s>[INST] <<SYS>>\nあなたは誠実で優秀な日本人のアシスタントです。\n<</SYS>>\n\nこんにちは [/INST] '
 */
export function createElyzaPreset(config: ElyzaPresetConfig = {}): ModelPreset {
  const variant = config.variant ?? 'instruct';
  const template = createLlama2ChatTemplate({
    name: `elyza-${variant}`,
    defaultSystemPrompt: config.systemPrompt ?? ELYZA_DEFAULT_SYSTEM_PROMPT,
    generationPrefix: ' ',
    ...(config.bos ? { bos: config.bos } : {}),
  });
  return {
    modelId: `elyza/ELYZA-japanese-Llama-2-7b-${variant}`,
    template,
    stopSequences: template.stopSequences,
    defaults: { maxTokens: 512, temperature: 0.6 },
  };
}
