import type { BlobStore, ChatModel, Synthesizer, Transcriber } from '@kaiwa/core';
import type { StepContext } from '@kaiwa/workflow';
import { MissingServiceError } from './errors.js';

export function requireBlobs(context: StepContext, stepType: string): BlobStore {
  const blobs = context.services.blobs;
  if (!blobs) throw new MissingServiceError(stepType, 'a blob store (services.blobs)');
  return blobs;
}

export function requireChatModel(context: StepContext, stepType: string): ChatModel {
  const model = context.services.chatModel;
  if (!model) throw new MissingServiceError(stepType, 'a chat model (services.chatModel)');
  return model;
}

export function requireTranscriber(context: StepContext, stepType: string): Transcriber {
  const transcriber = context.services.transcriber;
  if (!transcriber)
    throw new MissingServiceError(stepType, 'a transcriber (services.transcriber, KAIWA_TRANSCRIBER)');
  return transcriber;
}

export function requireSynthesizer(context: StepContext, stepType: string): Synthesizer {
  const synthesizer = context.services.synthesizer;
  if (!synthesizer)
    throw new MissingServiceError(stepType, 'a synthesizer (services.synthesizer, KAIWA_SYNTHESIZER)');
  return synthesizer;
}
