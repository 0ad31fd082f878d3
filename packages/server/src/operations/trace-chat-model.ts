import type { Transformer } from 'node:stream/web';
import type { ChatModel, ChatStreamPart, ChatUsage } from '@kaiwa/core';
import { context, type Span, SpanKind, type Tracer, trace } from '@opentelemetry/api';
import { recordSpanError } from './trace-span-error.js';

/**
 * The same chat model with a client span per call (`chat llama3.2`, OpenTelemetry's GenAI attributes):
 * provider, model, input and output tokens and, for streams, the time to the first text
 * (`kaiwa.llm.time_to_first_token_ms`, plus a `first_token` event). Prompts and answers are never recorded.
 * A stream's span ends with its finish or error part, or when the consumer cancels it
 * (`kaiwa.llm.cancelled`); an abort through `abortSignal` arrives as an error part (`error.type` `aborted`).
 */
export function tracedChatModel(model: ChatModel, tracer: Tracer): ChatModel {
  const start = (operation: 'generate' | 'stream') =>
    tracer.startSpan(`chat ${model.modelId}`, {
      kind: SpanKind.CLIENT,
      attributes: {
        'gen_ai.operation.name': 'chat',
        'gen_ai.provider.name': model.provider,
        'gen_ai.request.model': model.modelId,
        'kaiwa.llm.operation': operation,
      },
    });
  const recordUsage = (span: Span, usage: ChatUsage) => {
    if (usage.inputTokens !== undefined) span.setAttribute('gen_ai.usage.input_tokens', usage.inputTokens);
    if (usage.outputTokens !== undefined) span.setAttribute('gen_ai.usage.output_tokens', usage.outputTokens);
  };
  return {
    specificationVersion: model.specificationVersion,
    provider: model.provider,
    modelId: model.modelId,
    capabilities: model.capabilities,
    async generate(request, options) {
      const span = start('generate');
      try {
        const result = await model.generate(request, options);
        recordUsage(span, result.usage);
        return result;
      } catch (error) {
        recordSpanError(span, error);
        throw error;
      } finally {
        span.end();
      }
    },
    stream(request, options) {
      const span = start('stream');
      const started = performance.now();
      let firstText = true;
      let ended = false;
      const end = () => {
        if (ended) return;
        ended = true;
        span.end();
      };
      // The model's own work (its HTTP call) runs inside the span.
      const parts = context.with(trace.setSpan(context.active(), span), () => model.stream(request, options));
      // `cancel` runs when the consumer cancels the stream (or leaves a `for await` early); Node has it
      // (the WHATWG streams standard since 2023), its type definitions do not list it yet.
      const transformer: Transformer<ChatStreamPart, ChatStreamPart> & { cancel: () => void } = {
        transform(part, controller) {
          if (part.type === 'text-delta' && firstText) {
            firstText = false;
            span.setAttribute('kaiwa.llm.time_to_first_token_ms', Math.round(performance.now() - started));
            span.addEvent('first_token');
          } else if (part.type === 'finish') {
            recordUsage(span, part.usage);
            end();
          } else if (part.type === 'error') {
            recordSpanError(span, part.error);
            end();
          }
          controller.enqueue(part);
        },
        flush: end,
        // The call stopped short by the caller's choice, not a failure of the model: the status stays unset
        // (OpenTelemetry's recording-errors convention) and `kaiwa.llm.cancelled` says why there is no finish.
        cancel() {
          if (ended) return;
          span.setAttribute('kaiwa.llm.cancelled', true);
          end();
        },
      };
      return parts.pipeThrough(new TransformStream(transformer));
    },
  };
}
