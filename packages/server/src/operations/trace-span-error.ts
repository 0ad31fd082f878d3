import { type Span, SpanStatusCode } from '@opentelemetry/api';

/**
 * Marks a span failed with the error's code (or class name) as `error.type`. The message stays out of the
 * span: it may quote what a user wrote.
 */
export function recordSpanError(span: Span, error: unknown): void {
  span.setStatus({ code: SpanStatusCode.ERROR });
  const code = (error as { code?: unknown } | undefined)?.code;
  span.setAttribute(
    'error.type',
    typeof code === 'string' ? code : error instanceof Error ? error.name : typeof error,
  );
}
