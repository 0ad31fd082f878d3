import type { StepType } from '@kaiwa/workflow';
import { analyzeStep } from './analyze-step.js';
import { conditionStep } from './condition-step.js';
import { extractStep } from './extract-step.js';
import { loadStep } from './load-step.js';
import { notifyStep } from './notify-step.js';
import { type OcrStep, ocrStep } from './ocr/ocr-step.js';
import { storeStep } from './store-step.js';
import { transformStep } from './transform-step.js';
import { uploadStep } from './upload-step.js';
import { createValidateStep, type ValidateStepOptions, validateStep } from './validate-step.js';
import { synthesizeStep } from './voice/synthesize-step.js';
import { transcribeStep } from './voice/transcribe-step.js';

export interface BuiltInStepOptions {
  /** An `ocr` step from `createOcrStep` (its own limits, closable); default the shared `ocrStep`. */
  ocr?: OcrStep;
  /** Named zod schemas for `validate`. */
  validate?: ValidateStepOptions;
}

/**
 * Every built-in step type, for `new WorkflowEngine({ steps: builtInStepTypes() })`.
 *
 * @example
 * const ocr = createOcrStep({ maxWorkers: 2 });
 * const engine = new WorkflowEngine({ store, bus, services, steps: builtInStepTypes({ ocr }) });
 */
export function builtInStepTypes(options: BuiltInStepOptions = {}): StepType[] {
  const steps = [
    uploadStep,
    options.ocr ?? ocrStep,
    analyzeStep,
    extractStep,
    transformStep,
    options.validate ? createValidateStep(options.validate) : validateStep,
    storeStep,
    loadStep,
    notifyStep,
    conditionStep,
    transcribeStep,
    synthesizeStep,
  ];
  return steps as StepType[];
}
