import { writeFileSync } from 'node:fs';

// Writes a valid, tiny, random-weight llama GGUF (v3, all tensors F32) with a SentencePiece-style ("llama")
// vocabulary of single characters, byte-fallback tokens and <unk>/<s>/</s>. It loads, tokenises and generates
// (gibberish, as random weights must) in llama.cpp.

enum ValueType {
  Uint32 = 4,
  Int32 = 5,
  Float32 = 6,
  Bool = 7,
  String = 8,
  Array = 9,
}

type Value =
  | { type: 'u32'; value: number }
  | { type: 'f32'; value: number }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string }
  | { type: 'strings'; value: string[] }
  | { type: 'f32s'; value: number[] }
  | { type: 'i32s'; value: number[] };

class Writer {
  readonly #chunks: Buffer[] = [];
  length = 0;
  #push(buffer: Buffer) {
    this.#chunks.push(buffer);
    this.length += buffer.length;
  }
  u32(value: number) {
    const buffer = Buffer.alloc(4);
    buffer.writeUInt32LE(value);
    this.#push(buffer);
  }
  i32(value: number) {
    const buffer = Buffer.alloc(4);
    buffer.writeInt32LE(value);
    this.#push(buffer);
  }
  u64(value: number) {
    const buffer = Buffer.alloc(8);
    buffer.writeBigUInt64LE(BigInt(value));
    this.#push(buffer);
  }
  f32(value: number) {
    const buffer = Buffer.alloc(4);
    buffer.writeFloatLE(value);
    this.#push(buffer);
  }
  string(value: string) {
    const bytes = Buffer.from(value, 'utf8');
    this.u64(bytes.length);
    this.#push(bytes);
  }
  bytes(buffer: Buffer) {
    this.#push(buffer);
  }
  pad(alignment: number) {
    const padding = (alignment - (this.length % alignment)) % alignment;
    if (padding) this.#push(Buffer.alloc(padding));
  }
  value(value: Value) {
    switch (value.type) {
      case 'u32':
        this.u32(ValueType.Uint32);
        return this.u32(value.value);
      case 'f32':
        this.u32(ValueType.Float32);
        return this.f32(value.value);
      case 'bool':
        this.u32(ValueType.Bool);
        return this.#push(Buffer.from([value.value ? 1 : 0]));
      case 'string':
        this.u32(ValueType.String);
        return this.string(value.value);
      case 'strings':
        this.u32(ValueType.Array);
        this.u32(ValueType.String);
        this.u64(value.value.length);
        for (const item of value.value) this.string(item);
        return;
      case 'f32s':
        this.u32(ValueType.Array);
        this.u32(ValueType.Float32);
        this.u64(value.value.length);
        for (const item of value.value) this.f32(item);
        return;
      case 'i32s':
        this.u32(ValueType.Array);
        this.u32(ValueType.Int32);
        this.u64(value.value.length);
        for (const item of value.value) this.i32(item);
        return;
    }
  }
  toBuffer() {
    return Buffer.concat(this.#chunks);
  }
}

const NORMAL = 1;
const UNKNOWN = 2;
const CONTROL = 3;
const BYTE = 6;

/** The vocabulary: <unk>, <s>, </s>, 256 byte tokens, '▁' (space), printable ASCII and the given characters. */
export function tinyGgufVocabulary(extraCharacters: string): { tokens: string[]; types: number[] } {
  const tokens = ['<unk>', '<s>', '</s>'];
  const types = [UNKNOWN, CONTROL, CONTROL];
  for (let byte = 0; byte < 256; byte++) {
    tokens.push(`<0x${byte.toString(16).toUpperCase().padStart(2, '0')}>`);
    types.push(BYTE);
  }
  const characters = new Set([
    '▁',
    ...Array.from({ length: 94 }, (_, index) => String.fromCharCode(33 + index)),
  ]);
  for (const character of extraCharacters) if (character !== ' ') characters.add(character);
  for (const character of characters) {
    tokens.push(character);
    types.push(NORMAL);
  }
  return { tokens, types };
}

/** Writes the model to `path`; `seed` makes the random weights reproducible. */
export function writeTinyGguf(path: string, extraCharacters: string, seed = 1): void {
  const { tokens, types } = tinyGgufVocabulary(extraCharacters);
  const vocabulary = tokens.length;
  const embedding = 16;
  const heads = 2;
  const feedForward = 32;
  let state = seed >>> 0;
  const random = () => {
    // mulberry32
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const tensors: { name: string; dims: number[]; fill: 'random' | 'one' }[] = [
    { name: 'token_embd.weight', dims: [embedding, vocabulary], fill: 'random' },
    { name: 'output_norm.weight', dims: [embedding], fill: 'one' },
    { name: 'output.weight', dims: [embedding, vocabulary], fill: 'random' },
    { name: 'blk.0.attn_norm.weight', dims: [embedding], fill: 'one' },
    { name: 'blk.0.attn_q.weight', dims: [embedding, embedding], fill: 'random' },
    { name: 'blk.0.attn_k.weight', dims: [embedding, embedding], fill: 'random' },
    { name: 'blk.0.attn_v.weight', dims: [embedding, embedding], fill: 'random' },
    { name: 'blk.0.attn_output.weight', dims: [embedding, embedding], fill: 'random' },
    { name: 'blk.0.ffn_norm.weight', dims: [embedding], fill: 'one' },
    { name: 'blk.0.ffn_gate.weight', dims: [embedding, feedForward], fill: 'random' },
    { name: 'blk.0.ffn_up.weight', dims: [embedding, feedForward], fill: 'random' },
    { name: 'blk.0.ffn_down.weight', dims: [feedForward, embedding], fill: 'random' },
  ];
  const metadata: [string, Value][] = [
    ['general.architecture', { type: 'string', value: 'llama' }],
    ['general.name', { type: 'string', value: 'kaiwa-tiny-llama' }],
    ['general.alignment', { type: 'u32', value: 32 }],
    ['llama.context_length', { type: 'u32', value: 512 }],
    ['llama.embedding_length', { type: 'u32', value: embedding }],
    ['llama.block_count', { type: 'u32', value: 1 }],
    ['llama.feed_forward_length', { type: 'u32', value: feedForward }],
    ['llama.attention.head_count', { type: 'u32', value: heads }],
    ['llama.attention.head_count_kv', { type: 'u32', value: heads }],
    ['llama.rope.dimension_count', { type: 'u32', value: embedding / heads }],
    ['llama.attention.layer_norm_rms_epsilon', { type: 'f32', value: 1e-5 }],
    ['llama.vocab_size', { type: 'u32', value: vocabulary }],
    ['tokenizer.ggml.model', { type: 'string', value: 'llama' }],
    ['tokenizer.ggml.tokens', { type: 'strings', value: tokens }],
    ['tokenizer.ggml.scores', { type: 'f32s', value: tokens.map(() => 0) }],
    ['tokenizer.ggml.token_type', { type: 'i32s', value: types }],
    ['tokenizer.ggml.unknown_token_id', { type: 'u32', value: 0 }],
    ['tokenizer.ggml.bos_token_id', { type: 'u32', value: 1 }],
    ['tokenizer.ggml.eos_token_id', { type: 'u32', value: 2 }],
    ['tokenizer.ggml.add_bos_token', { type: 'bool', value: true }],
    ['tokenizer.ggml.add_eos_token', { type: 'bool', value: false }],
    ['tokenizer.ggml.add_space_prefix', { type: 'bool', value: false }],
  ];

  const writer = new Writer();
  writer.bytes(Buffer.from('GGUF', 'ascii'));
  writer.u32(3);
  writer.u64(tensors.length);
  writer.u64(metadata.length);
  for (const [key, value] of metadata) {
    writer.string(key);
    writer.value(value);
  }
  const data: Buffer[] = [];
  let offset = 0;
  for (const tensor of tensors) {
    const count = tensor.dims.reduce((product, dim) => product * dim, 1);
    const buffer = Buffer.alloc(Math.ceil((count * 4) / 32) * 32);
    for (let index = 0; index < count; index++) {
      buffer.writeFloatLE(tensor.fill === 'one' ? 1 : (random() - 0.5) * 0.5, index * 4);
    }
    writer.string(tensor.name);
    writer.u32(tensor.dims.length);
    for (const dim of tensor.dims) writer.u64(dim);
    writer.u32(0); // F32
    writer.u64(offset);
    data.push(buffer);
    offset += buffer.length;
  }
  writer.pad(32);
  for (const buffer of data) writer.bytes(buffer);
  writeFileSync(path, writer.toBuffer());
}
