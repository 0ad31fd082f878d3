import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BackendResponseError, ModelMissingError } from '@kaiwa/core';

export type TransformersModule = typeof import('@huggingface/transformers');

/** Weight precisions transformers.js can load; each reads its own `onnx/model<suffix>.onnx`. */
export type TransformersDtype = 'fp32' | 'fp16' | 'q8' | 'int8' | 'uint8' | 'q4' | 'q4f16' | 'bnb4';
export type TransformersDevice = 'auto' | 'cpu' | 'webgpu';

/** Settings shared by the transformers.js chat and embedding models. */
export interface TransformersModelConfig {
  /** The directory that holds model folders (transformers.js `env.localModelPath`). Nothing is downloaded. */
  localModelPath: string;
  /** The model's folder under `localModelPath`, e.g. `'tiny-llama'` or `'Xenova/multilingual-e5-small'`. */
  model: string;
  /** Weight precision (default `'fp32'`); quantised ones (`'q8'`, `'q4'`…) read `onnx/model_quantized.onnx`, `onnx/model_q4.onnx`… */
  dtype?: TransformersDtype;
  /** `'auto'` (default) runs on WebGPU where the runtime exposes it, else on the CPU with one log line. */
  device?: TransformersDevice;
  /** Where that one line goes (default `console.info`). */
  logger?: (line: string) => void;
}

const PROVIDER = 'transformers';

const SUFFIX: Record<TransformersDtype, string> = {
  fp32: '',
  fp16: '_fp16',
  q8: '_quantized',
  int8: '_int8',
  uint8: '_uint8',
  q4: '_q4',
  q4f16: '_q4f16',
  bnb4: '_bnb4',
};

/** The files transformers.js needs for this model and dtype, relative to the model's folder. */
export function expectedModelFiles(dtype: TransformersDtype): string[] {
  return ['config.json', 'tokenizer.json', 'tokenizer_config.json', `onnx/model${SUFFIX[dtype]}.onnx`];
}

/** Throws a `ModelMissingError` naming the directory and every missing file. */
export function assertModelFiles(config: TransformersModelConfig): void {
  const directory = join(config.localModelPath, config.model);
  const expected = expectedModelFiles(config.dtype ?? 'fp32');
  const missing = expected.filter((file) => !existsSync(join(directory, file)));
  if (missing.length > 0) {
    throw new ModelMissingError(
      config.model,
      `transformers.js model "${config.model}" is incomplete: ${directory} lacks ${missing.join(', ')} ` +
        `(expected ${expected.join(', ')})`,
      { provider: PROVIDER },
    );
  }
}

/** Imports the optional peer `@huggingface/transformers` and points it at local files only. */
export async function loadTransformers(config: TransformersModelConfig): Promise<TransformersModule> {
  let transformers: TransformersModule;
  try {
    transformers = await import('@huggingface/transformers');
  } catch (error) {
    throw new BackendResponseError(
      'the transformers.js backend needs the optional peer dependency @huggingface/transformers: npm install @huggingface/transformers',
      { provider: PROVIDER, cause: error, isRetryable: false },
    );
  }
  // transformers.js settings are global: every model of this backend reads from its own localModelPath.
  transformers.env.allowRemoteModels = false;
  transformers.env.allowLocalModels = true;
  transformers.env.localModelPath = config.localModelPath;
  return transformers;
}

/** `'auto'` → WebGPU when the runtime exposes `navigator.gpu`, otherwise CPU with one log line. */
export function pickDevice(config: TransformersModelConfig): 'cpu' | 'webgpu' {
  const requested = config.device ?? 'auto';
  if (requested !== 'auto') return requested;
  const navigator = (globalThis as { navigator?: { gpu?: unknown } }).navigator;
  if (navigator?.gpu) return 'webgpu';
  (config.logger ?? console.info)(
    `[@kaiwa/llm] ${config.model}: WebGPU is not available, running transformers.js on the CPU`,
  );
  return 'cpu';
}

export { PROVIDER as TRANSFORMERS_PROVIDER };
