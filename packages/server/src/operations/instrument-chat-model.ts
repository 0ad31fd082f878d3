import type { ChatModel, ChatResult, ChatStreamPart, ChatUsage } from '@kaiwa/core';
import type { ServerMetrics } from './server-metrics.js';

/**
 * The same chat model, counted: requests by model, operation and outcome, input and output tokens, the time
 * of each call and, for streams, the time to the first text. Outcomes are `ok`, `aborted` and `error`; a
 * stream the caller cancels before its end is not counted. The model's answers pass through unchanged.
 *
 * @example
 * const model = instrumentChatModel(createOpenAICompatibleChatModel({ baseURL, model: 'llama3.2' }), metrics);
 */
export function instrumentChatModel(model: ChatModel, metrics: ServerMetrics): ChatModel {
  const labels = { model: model.modelId };
  const countTokens = (usage: ChatUsage) => {
    if (usage.inputTokens) metrics.llmTokens.inc({ ...labels, kind: 'input' }, usage.inputTokens);
    if (usage.outputTokens) metrics.llmTokens.inc({ ...labels, kind: 'output' }, usage.outputTokens);
  };
  const outcomeOf = (error: unknown) =>
    (error as { code?: unknown } | undefined)?.code === 'aborted' ? 'aborted' : 'error';
  return {
    specificationVersion: model.specificationVersion,
    provider: model.provider,
    modelId: model.modelId,
    capabilities: model.capabilities,
    async generate(request, options) {
      const stopTimer = metrics.llmRequestDuration.startTimer({ ...labels, operation: 'generate' });
      let result: ChatResult;
      try {
        result = await model.generate(request, options);
      } catch (error) {
        metrics.llmRequests.inc({ ...labels, operation: 'generate', outcome: outcomeOf(error) });
        throw error;
      }
      stopTimer();
      metrics.llmRequests.inc({ ...labels, operation: 'generate', outcome: 'ok' });
      countTokens(result.usage);
      return result;
    },
    stream(request, options) {
      const started = performance.now();
      let firstText = true;
      return model.stream(request, options).pipeThrough(
        new TransformStream<ChatStreamPart, ChatStreamPart>({
          transform(part, controller) {
            if (part.type === 'text-delta' && firstText) {
              firstText = false;
              metrics.llmTimeToFirstToken.observe(labels, (performance.now() - started) / 1000);
            } else if (part.type === 'finish') {
              metrics.llmRequestDuration.observe(
                { ...labels, operation: 'stream' },
                (performance.now() - started) / 1000,
              );
              metrics.llmRequests.inc({ ...labels, operation: 'stream', outcome: 'ok' });
              countTokens(part.usage);
            } else if (part.type === 'error') {
              metrics.llmRequests.inc({ ...labels, operation: 'stream', outcome: outcomeOf(part.error) });
            }
            controller.enqueue(part);
          },
        }),
      );
    },
  };
}
