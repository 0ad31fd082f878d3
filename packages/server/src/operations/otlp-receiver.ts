import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';

/*
 * A small OTLP/HTTP trace receiver for tests and the tracing benchmark: it accepts what the official
 * `@opentelemetry/exporter-trace-otlp-http` sends (JSON, `POST /v1/traces`) on 127.0.0.1 and keeps every
 * span with the service that sent it. Ids are hex in OTLP/JSON.
 */

const AttributeSchema = z.object({
  key: z.string(),
  value: z.record(z.string(), z.unknown()),
});

const SpanSchema = z.object({
  traceId: z.string(),
  spanId: z.string(),
  parentSpanId: z.string().optional(),
  name: z.string(),
  kind: z.number().optional(),
  attributes: z.array(AttributeSchema).optional(),
  links: z.array(z.object({ traceId: z.string(), spanId: z.string() })).optional(),
  status: z.object({ code: z.number().optional() }).optional(),
});

const ExportRequestSchema = z.object({
  resourceSpans: z.array(
    z.object({
      resource: z.object({ attributes: z.array(AttributeSchema).optional() }).optional(),
      scopeSpans: z.array(z.object({ spans: z.array(SpanSchema).optional() })).optional(),
    }),
  ),
});

/** One received span, its attributes flattened to plain values. */
export interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  /** Empty for a root span. */
  parentSpanId: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
  links: { traceId: string; spanId: string }[];
  statusCode: number;
}

export interface OtlpReceiver {
  /** `http://127.0.0.1:<port>`, for OTEL_EXPORTER_OTLP_ENDPOINT. */
  url: string;
  spans: ReceivedSpan[];
  /** Every request body as received, to look for what must not be there. */
  bodies: string[];
  /** How many export requests arrived. */
  requests: number;
  close(): Promise<void>;
}

function plainValue(value: Record<string, unknown>): unknown {
  if ('stringValue' in value) return value.stringValue;
  if ('intValue' in value) return Number(value.intValue);
  if ('doubleValue' in value) return value.doubleValue;
  if ('boolValue' in value) return value.boolValue;
  return value;
}

function attributesOf(list: z.infer<typeof AttributeSchema>[] | undefined): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map(({ key, value }) => [key, plainValue(value)]));
}

/** Starts the receiver on 127.0.0.1 (port 0: any free port). */
export async function startOtlpReceiver(port = 0): Promise<OtlpReceiver> {
  const receiver: OtlpReceiver = {
    url: '',
    spans: [],
    bodies: [],
    requests: 0,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const parsed =
        request.method === 'POST' && request.url === '/v1/traces'
          ? ExportRequestSchema.safeParse(safeJson(body))
          : undefined;
      if (!parsed?.success) {
        response.writeHead(400, { 'content-type': 'application/json' }).end('{}');
        return;
      }
      receiver.requests += 1;
      receiver.bodies.push(body);
      for (const resourceSpans of parsed.data.resourceSpans) {
        const service = String(attributesOf(resourceSpans.resource?.attributes)['service.name'] ?? '');
        for (const scope of resourceSpans.scopeSpans ?? []) {
          for (const span of scope.spans ?? []) {
            receiver.spans.push({
              service,
              traceId: span.traceId,
              spanId: span.spanId,
              parentSpanId: span.parentSpanId ?? '',
              name: span.name,
              kind: span.kind ?? 0,
              attributes: attributesOf(span.attributes),
              links: span.links ?? [],
              statusCode: span.status?.code ?? 0,
            });
          }
        }
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return receiver;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
