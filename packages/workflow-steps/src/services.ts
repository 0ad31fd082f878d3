import type { BlobStore, ChatModel } from '@kaiwa/core';
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
