import { describe, expect, it } from 'vitest';
import { createElyzaPreset, ELYZA_DEFAULT_SYSTEM_PROMPT } from './elyza-preset.js';
import { createLlama2ChatTemplate } from './llama2-chat-template.js';

// Expected strings are written out by hand from Meta's llama/generation.py `chat_completion`:
//   B_INST, E_INST = "[INST]", "[/INST]";  B_SYS, E_SYS = "<<SYS>>\n", "\n<</SYS>>\n\n"
//   system folded into the first user message; each exchange encode(f"{B_INST} {u} {E_INST} {a} ", bos, eos);
//   the last user turn encode(f"{B_INST} {u} {E_INST}", bos, no eos).
// and from ELYZA's model card usage:
//   "{bos_token}{b_inst} {system}{prompt} {e_inst} " with system = B_SYS + DEFAULT_SYSTEM_PROMPT + E_SYS.

describe('Llama-2 chat template (Meta reference)', () => {
  const template = createLlama2ChatTemplate();

  it('formats a single user turn with BOS as text and no trailing space', () => {
    expect(template.format([{ role: 'user', content: 'Hello' }]).prompt).toBe('<s>[INST] Hello [/INST]');
  });

  it('folds the system prompt into the first user turn', () => {
    const { prompt } = template.format([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hello' },
    ]);
    expect(prompt).toBe('<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHello [/INST]');
  });

  it('closes each finished exchange with EOS and opens the next with BOS, trimming contents', () => {
    const { prompt, turns } = template.format([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: ' Hello ' },
      { role: 'assistant', content: ' Hi! \n' },
      { role: 'user', content: 'How are you?' },
    ]);
    // Meta strips the merged system+user text, so the user's own leading space survives after <</SYS>>.
    expect(prompt).toBe(
      '<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\n Hello [/INST] Hi! </s><s>[INST] How are you? [/INST]',
    );
    // The token-id view: BOS before every turn, EOS after completed exchanges only.
    expect(turns).toEqual([
      { text: '[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\n Hello [/INST] Hi! ', eos: true },
      { text: '[INST] How are you? [/INST]', eos: false },
    ]);
  });

  it('can leave the first BOS out for servers that add it themselves', () => {
    const omit = createLlama2ChatTemplate({ bos: 'omit' });
    const { prompt } = omit.format([
      { role: 'user', content: 'a' },
      { role: 'assistant', content: 'b' },
      { role: 'user', content: 'c' },
    ]);
    expect(prompt).toBe('[INST] a [/INST] b </s><s>[INST] c [/INST]');
  });

  it('rejects dialogs that do not alternate or do not end with the user', () => {
    expect(() =>
      template.format([
        { role: 'user', content: 'a' },
        { role: 'user', content: 'b' },
      ]),
    ).toThrow(/message 1 should be assistant/);
    expect(() =>
      template.format([
        { role: 'user', content: 'a' },
        { role: 'assistant', content: 'b' },
      ]),
    ).toThrow(/last message must be from the user/);
    expect(() => template.format([])).toThrow(/last message/);
  });

  it('stops on EOS', () => {
    expect(template.stopSequences).toEqual(['</s>']);
  });
});

describe('ELYZA preset (ELYZA-japanese-Llama-2-7b instruct / fast-instruct)', () => {
  it("uses ELYZA's default Japanese system prompt, exactly as in the model card", () => {
    expect(ELYZA_DEFAULT_SYSTEM_PROMPT).toBe('あなたは誠実で優秀な日本人のアシスタントです。');
    const { template, modelId, stopSequences } = createElyzaPreset();
    expect(modelId).toBe('elyza/ELYZA-japanese-Llama-2-7b-instruct');
    expect(stopSequences).toEqual(['</s>']);
    const text =
      'クマが海辺に行ってアザラシと友達になり、最終的には家に帰るというプロットの短編小説を書いてください。';
    expect(template.format([{ role: 'user', content: text }]).prompt).toBe(
      '<s>[INST] <<SYS>>\nあなたは誠実で優秀な日本人のアシスタントです。\n<</SYS>>\n\n' +
        'クマが海辺に行ってアザラシと友達になり、最終的には家に帰るというプロットの短編小説を書いてください。 [/INST] ',
    );
  });

  it('formats multi-turn dialogs as {assistant} </s><s>[INST] {user} [/INST]', () => {
    const { template, modelId } = createElyzaPreset({ variant: 'fast-instruct' });
    expect(modelId).toBe('elyza/ELYZA-japanese-Llama-2-7b-fast-instruct');
    const { prompt } = template.format([
      { role: 'user', content: 'こんにちは' },
      { role: 'assistant', content: 'こんにちは！ご用件は何でしょうか。' },
      { role: 'user', content: '日本の首都は？' },
    ]);
    expect(prompt).toBe(
      '<s>[INST] <<SYS>>\nあなたは誠実で優秀な日本人のアシスタントです。\n<</SYS>>\n\nこんにちは [/INST] ' +
        'こんにちは！ご用件は何でしょうか。 </s><s>[INST] 日本の首都は？ [/INST] ',
    );
  });

  it('lets a system message, or the config, replace the default system prompt', () => {
    const { template } = createElyzaPreset({ systemPrompt: '関西弁で答えてください。' });
    expect(template.format([{ role: 'user', content: 'やあ' }]).prompt).toBe(
      '<s>[INST] <<SYS>>\n関西弁で答えてください。\n<</SYS>>\n\nやあ [/INST] ',
    );
    expect(
      template.format([
        { role: 'system', content: '短く答えて。' },
        { role: 'user', content: 'やあ' },
      ]).prompt,
    ).toBe('<s>[INST] <<SYS>>\n短く答えて。\n<</SYS>>\n\nやあ [/INST] ');
  });
});
