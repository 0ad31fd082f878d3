export {
  type AnalyzeStepInput,
  AnalyzeStepInputSchema,
  type AnalyzeStepOutput,
  analyzeStep,
  matchLabel,
} from './analyze-step.js';
export { type BuiltInStepOptions, builtInStepTypes } from './built-in-step-types.js';
export {
  type ConditionStepInput,
  ConditionStepInputSchema,
  type ConditionStepOutput,
  conditionStep,
} from './condition-step.js';
export { HttpStatusError, isRetryableStepError, MissingServiceError, ModelOutputError } from './errors.js';
export {
  type ExtractStepInput,
  ExtractStepInputSchema,
  type ExtractStepOutput,
  extractStep,
  MAX_EXTRACT_TEXT_LENGTH,
  MAX_PATTERN_LENGTH,
  resolvePointer,
} from './extract-step.js';
export {
  type LoadStepInput,
  LoadStepInputSchema,
  type LoadStepOutput,
  loadStep,
  MAX_RESPONSE_BYTES,
} from './load-step.js';
export {
  type NotifyStepInput,
  NotifyStepInputSchema,
  type NotifyStepOutput,
  notifyStep,
} from './notify-step.js';
export {
  languageDataPath,
  missingOcrLanguages,
  OCR_LANGUAGES,
  type OcrLanguage,
} from './ocr/language-data.js';
export {
  createOcrStep,
  type OcrPageResult,
  type OcrStep,
  type OcrStepInput,
  OcrStepInputSchema,
  type OcrStepOptions,
  type OcrStepOutput,
  ocrStep,
} from './ocr/ocr-step.js';
export { OcrWorkerPool, type OcrWorkerPoolConfig } from './ocr/ocr-worker-pool.js';
export { type RenderedPage, type RenderPdfOptions, renderPdfPages } from './ocr/pdf-pages.js';
export {
  createTesseractTextRecognizer,
  type PdfPageRenderer,
  type TesseractTextRecognizer,
  type TesseractTextRecognizerConfig,
} from './ocr/tesseract-text-recognizer.js';
export { type Conversion, convertValue, parseDate, parseNumber } from './parse-values.js';
export {
  MAX_STORED_FILE_BYTES,
  type StoreStepInput,
  StoreStepInputSchema,
  type StoreStepOutput,
  storeStep,
} from './store-step.js';
export {
  type TransformStepInput,
  TransformStepInputSchema,
  type TransformStepOutput,
  transformStep,
} from './transform-step.js';
export {
  type UploadStepInput,
  UploadStepInputSchema,
  type UploadStepOutput,
  uploadStep,
} from './upload-step.js';
export {
  createValidateStep,
  type ValidateStepInput,
  ValidateStepInputSchema,
  type ValidateStepOptions,
  type ValidateStepOutput,
  validateStep,
} from './validate-step.js';
export {
  type SynthesizeStepInput,
  SynthesizeStepInputSchema,
  type SynthesizeStepOutput,
  synthesizeStep,
} from './voice/synthesize-step.js';
export {
  MAX_TRANSCRIBE_BYTES,
  type TranscribeStepInput,
  TranscribeStepInputSchema,
  type TranscribeStepOutput,
  transcribeStep,
} from './voice/transcribe-step.js';
