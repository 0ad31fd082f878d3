import { retryAfterMs, ValidationError } from '@kaiwa/core';
import { defineStepType } from '@kaiwa/workflow';
import { z } from 'zod';
import { HttpStatusError, isRetryableStepError, MissingServiceError } from './errors.js';

/** Largest response body read; the rest is refused rather than buffered. */
export const MAX_RESPONSE_BYTES = 1024 * 1024;

const HeaderNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$/, 'must be an HTTP header name');
const HeaderValueSchema = z
  .string()
  .max(8_000)
  .regex(/^[^\r\n\0]*$/, 'must not hold line breaks');

export const LoadStepInputSchema = z
  .object({
    /** A name from `services.endpoints`; never a URL, so definitions cannot reach arbitrary hosts. */
    endpoint: z.string().min(1).max(100),
    method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']).default('POST'),
    /** Appended to the endpoint's URL: a relative path without `..`, scheme or host. */
    path: z
      .string()
      .max(2_000)
      .regex(/^[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*$/, 'may hold only URL path characters')
      .refine(
        (path) => !path.split('/').includes('..') && !path.startsWith('//'),
        'must not climb out of the endpoint',
      )
      .optional(),
    query: z.record(z.string().min(1).max(200), z.union([z.string(), z.number(), z.boolean()])).optional(),
    headers: z.record(HeaderNameSchema, HeaderValueSchema).optional(),
    /** Sent as JSON (objects, arrays, numbers) or as text (strings). Not allowed with GET. */
    body: z.unknown().optional(),
    /** Default: JSON when the response says `application/json`, else text. */
    responseType: z.enum(['auto', 'json', 'text']).default('auto'),
    timeoutMs: z.number().int().min(1).max(600_000).default(30_000),
  })
  .strict()
  .refine((input) => input.body === undefined || input.method !== 'GET', {
    message: 'a GET request has no body',
    path: ['body'],
  });
export type LoadStepInput = z.infer<typeof LoadStepInputSchema>;

export interface LoadStepOutput {
  status: number;
  contentType: string | undefined;
  body: unknown;
}

/**
 * `load`: sends data to (or fetches from) an HTTP endpoint the operator configured by name. Answers outside
 * 2xx fail with an {@link HttpStatusError}: retryable on 5xx, 408 and 429, with `retryAfterMs` from
 * `Retry-After`. (Rows into database tables are not offered: the store port has no generic row API.)
 *
 * @example
 * // services.endpoints = new Map([['erp', { url: 'https://erp.example/api', headers: { authorization: 'Bearer …' } }]])
 * { "id": "push", "type": "load", "input": { "endpoint": "erp", "path": "invoices", "body": "{{ steps.invoice }}" } }
 */
export const loadStep = defineStepType<LoadStepInput, LoadStepOutput>({
  type: 'load',
  description: 'HTTP request to a named endpoint: { endpoint, method?, path?, query?, headers?, body? }',
  input: LoadStepInputSchema,
  retryable: isRetryableStepError,
  async run(input, context) {
    const endpoint = context.services.endpoints?.get(input.endpoint);
    if (!endpoint) {
      if (!context.services.endpoints)
        throw new MissingServiceError('load', 'endpoints (services.endpoints)');
      throw ValidationError.field('endpoint', `no endpoint named "${input.endpoint}"`);
    }
    const url = new URL(endpoint.url);
    if (input.path) url.pathname = `${url.pathname.replace(/\/$/, '')}/${input.path.replace(/^\//, '')}`;
    for (const [name, value] of Object.entries(input.query ?? {}))
      url.searchParams.append(name, String(value));

    // The operator's headers (credentials) win over the definition's.
    const headers = new Headers(input.headers);
    for (const [name, value] of Object.entries(endpoint.headers ?? {})) headers.set(name, value);
    let body: string | undefined;
    if (input.body !== undefined) {
      if (typeof input.body === 'string') {
        body = input.body;
        if (!headers.has('content-type')) headers.set('content-type', 'text/plain; charset=utf-8');
      } else {
        body = JSON.stringify(input.body);
        if (!headers.has('content-type')) headers.set('content-type', 'application/json');
      }
    }
    const fetcher = context.services.fetch ?? fetch;
    const signal = AbortSignal.any([context.signal, AbortSignal.timeout(input.timeoutMs)]);
    const response = await fetcher(url, { method: input.method, headers, body, signal, redirect: 'manual' });
    const text = await readLimited(response, signal);
    const contentType = response.headers.get('content-type') ?? undefined;
    if (response.status < 200 || response.status > 299) {
      throw new HttpStatusError(
        input.endpoint,
        response.status,
        text,
        retryAfterMs(response.headers.get('retry-after')),
      );
    }
    const asJson =
      input.responseType === 'json' ||
      (input.responseType === 'auto' && /[/+]json\b/i.test(contentType ?? ''));
    let parsed: unknown = text;
    if (asJson && text.length > 0) {
      try {
        parsed = JSON.parse(text);
      } catch (error) {
        throw new Error(`endpoint ${input.endpoint} answered invalid JSON`, { cause: error });
      }
    }
    return { status: response.status, contentType, body: parsed };
  },
});

async function readLimited(response: Response, signal: AbortSignal): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      signal.throwIfAborted();
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > MAX_RESPONSE_BYTES)
        throw new Error(`the response is larger than ${MAX_RESPONSE_BYTES} bytes`);
      chunks.push(value);
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).toString('utf8');
}
