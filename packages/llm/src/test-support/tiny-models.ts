import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ELYZA_DEFAULT_SYSTEM_PROMPT } from '../templates/elyza-preset.js';

const PYTHON = '/usr/bin/python3';

/** Why tiny models cannot be built here, or undefined when they can (Debian's python3-onnx is installed). */
export function tinyModelsUnavailable(): string | undefined {
  const probe = spawnSync(PYTHON, ['-c', 'import onnx'], { encoding: 'utf8' });
  if (probe.status === 0) return undefined;
  return `${PYTHON} cannot import onnx (apt-get install -y python3-onnx): skipping transformers.js model tests`;
}

export const SPECIAL_TOKENS = ['<unk>', '<s>', '</s>'] as const;
export const BOS_ID = 1;
export const EOS_ID = 2;

// Character-level vocabulary: specials, printable ASCII, newline, and the Japanese characters the tests use.
const japanese = [...new Set([...`${ELYZA_DEFAULT_SYSTEM_PROMPT}こんにちははい日本の首都は？`])];
const characters = [
  ...Array.from({ length: 95 }, (_, index) => String.fromCharCode(32 + index)),
  '\n',
  ...japanese,
];
export const VOCAB: string[] = [...SPECIAL_TOKENS, ...characters];
export const idOf = (token: string): number => {
  const id = VOCAB.indexOf(token);
  if (id === -1) throw new Error(`not in the tiny vocabulary: ${JSON.stringify(token)}`);
  return id;
};

/**
 * The tiny LM's greedy continuation: after ']' comes ' ', after ' ' comes 'こんにちは' and then EOS; 'x' repeats
 * forever (for abort tests); anything else ends with EOS.
 */
function successors(): number[] {
  const next = VOCAB.map(() => EOS_ID);
  const chain = [']', ' ', 'こ', 'ん', 'に', 'ち', 'は'];
  for (let index = 0; index + 1 < chain.length; index++) next[idOf(chain[index]!)] = idOf(chain[index + 1]!);
  next[idOf('x')] = idOf('x');
  return next;
}

/** The tiny embedding model's vector for one token; the sentence vector is the mean over tokens, L2-normalised. */
export function tokenVector(id: number): number[] {
  return [1, id % 7, (id * 3) % 5, id % 2];
}

function tokenizerFiles(directory: string) {
  const addedTokens = SPECIAL_TOKENS.map((content, id) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  }));
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens,
    normalizer: null,
    pre_tokenizer: null,
    post_processor: null,
    decoder: { type: 'Fuse' },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '<unk>',
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      vocab: Object.fromEntries(VOCAB.map((token, id) => [token, id])),
      merges: [],
    },
  };
  writeFileSync(join(directory, 'tokenizer.json'), JSON.stringify(tokenizer));
  writeFileSync(
    join(directory, 'tokenizer_config.json'),
    JSON.stringify({
      tokenizer_class: 'PreTrainedTokenizer',
      bos_token: '<s>',
      eos_token: '</s>',
      unk_token: '<unk>',
      clean_up_tokenization_spaces: false,
      model_max_length: 4096,
    }),
  );
}

function runPython(spec: Record<string, unknown>) {
  const script = fileURLToPath(new URL('./build-tiny-onnx.py', import.meta.url));
  const result = spawnSync(PYTHON, [script], { input: JSON.stringify(spec), encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`building a tiny ONNX model failed: ${result.stderr}`);
}

/**
 * Writes `<root>/tiny-llama/` (a causal LM) and `<root>/tiny-embedder/` (a feature extractor), each with
 * config.json, tokenizer.json, tokenizer_config.json and onnx/model.onnx.
 */
export function buildTinyModels(root: string): { chatModel: string; embeddingModel: string } {
  const chatDirectory = join(root, 'tiny-llama');
  mkdirSync(join(chatDirectory, 'onnx'), { recursive: true });
  tokenizerFiles(chatDirectory);
  writeFileSync(
    join(chatDirectory, 'config.json'),
    JSON.stringify({
      model_type: 'llama',
      architectures: ['LlamaForCausalLM'],
      vocab_size: VOCAB.length,
      bos_token_id: BOS_ID,
      eos_token_id: EOS_ID,
      pad_token_id: 0,
      hidden_size: 8,
      num_attention_heads: 1,
      num_key_value_heads: 1,
      num_hidden_layers: 1,
      max_position_embeddings: 4096,
      use_cache: false,
    }),
  );
  runPython({
    kind: 'causal-lm',
    path: join(chatDirectory, 'onnx', 'model.onnx'),
    vocab_size: VOCAB.length,
    successors: successors(),
  });

  const embeddingDirectory = join(root, 'tiny-embedder');
  mkdirSync(join(embeddingDirectory, 'onnx'), { recursive: true });
  tokenizerFiles(embeddingDirectory);
  writeFileSync(
    join(embeddingDirectory, 'config.json'),
    JSON.stringify({
      model_type: 'bert',
      architectures: ['BertModel'],
      vocab_size: VOCAB.length,
      hidden_size: 4,
    }),
  );
  runPython({
    kind: 'embedding',
    path: join(embeddingDirectory, 'onnx', 'model.onnx'),
    vectors: VOCAB.map((_, id) => tokenVector(id)),
  });
  return { chatModel: 'tiny-llama', embeddingModel: 'tiny-embedder' };
}
