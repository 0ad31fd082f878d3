// A small deterministic server that speaks the OpenAI chat completions, completions and embeddings protocol
// over real HTTP with real SSE. Tests run it as a child process (`node --import tsx`); it prints
// `listening <port>` once bound to 127.0.0.1. The model name picks the behaviour; GET /__requests returns
// every request it received (path, body, arrival time, whether the client hung up early).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { ChatMessage } from '@kaiwa/core';
import { createLlamaCppChatModel, type LlamaCppChatModel } from '../llama-cpp/llama-cpp-chat-model.js';
import { createLlama2ChatTemplate } from '../templates/llama2-chat-template.js';

interface RecordedRequest {
  path: string;
  body: Record<string, unknown>;
  key: string | undefined;
  at: number;
  closedEarly: boolean;
}

const requests: RecordedRequest[] = [];
const attempts = new Map<string, number>();
const REPLY = ['Hello', ' from', ' Kaiwa.', ' The', ' end', ' STOP', ' after', ' stop.'];

const words = (text: string) => text.split(/\s+/).filter(Boolean).length;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function json(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  response.writeHead(status, { 'content-type': 'application/json', ...headers });
  response.end(JSON.stringify(body));
}

function errorBody(message: string, type: string, code: string | null) {
  return { error: { message, type, code, param: null } };
}

/** Cuts the reply at the first stop sequence and at max_tokens; returns the chunks to send and why it ended. */
function plan(body: Record<string, unknown>): { chunks: string[]; finish: 'stop' | 'length' } {
  const stops = typeof body.stop === 'string' ? [body.stop] : ((body.stop as string[] | undefined) ?? []);
  const full = REPLY.join('');
  let cut = full.length;
  for (const stop of stops) {
    const at = full.indexOf(stop);
    if (at !== -1 && at < cut) cut = at;
  }
  const chunks: string[] = [];
  let used = 0;
  for (const chunk of REPLY) {
    if (used >= cut) break;
    chunks.push(chunk.slice(0, cut - used));
    used += chunk.length;
  }
  const maxTokens = body.max_tokens as number | undefined;
  if (maxTokens !== undefined && chunks.length > maxTokens)
    return { chunks: chunks.slice(0, maxTokens), finish: 'length' };
  return { chunks, finish: 'stop' };
}

/**
 * `cite`: answers from the sources numbered in its system prompt (`[n] title` lines, then the text), like a
 * model told to cite: the first sentence of the source sharing most words with the question, then `[n]`.
 */
function citingAnswer(body: Record<string, unknown>): { chunks: string[]; finish: 'stop' } {
  const messages = (body.messages as { role: string; content?: string }[] | undefined) ?? [];
  const system = messages.find((message) => message.role === 'system')?.content ?? '';
  const question = new Set((messages.at(-1)?.content ?? '').toLowerCase().match(/\p{L}{4,}/gu) ?? []);
  const sources = [...system.matchAll(/\n\[(\d+)\] [^\n]*\n([\s\S]*?)(?=\n\[\d+\] |$)/g)].map((match) => ({
    number: match[1] as string,
    text: (match[2] as string).trim(),
  }));
  const overlap = (text: string) =>
    (text.toLowerCase().match(/\p{L}{4,}/gu) ?? []).filter((word) => question.has(word)).length;
  const best = [...sources].sort((a, b) => overlap(b.text) - overlap(a.text))[0];
  const answer = best ? `${best.text.split(/(?<=[.!?])\s/)[0]} [${best.number}]` : 'I was given no sources.';
  return { chunks: answer.match(/.{1,12}/gsu) ?? [answer], finish: 'stop' };
}

function promptTokens(body: Record<string, unknown>): number {
  if (typeof body.prompt === 'string') return words(body.prompt);
  const messages = (body.messages as { content?: string }[] | undefined) ?? [];
  return messages.reduce((sum, message) => sum + words(message.content ?? ''), 0);
}

async function sse(response: ServerResponse, events: unknown[], delayMs: number, record: RecordedRequest) {
  response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  for (const event of events) {
    if (record.closedEarly) return;
    response.write(`data: ${JSON.stringify(event)}\n\n`);
    if (delayMs) await sleep(delayMs);
  }
  if (!record.closedEarly) response.end('data: [DONE]\n\n');
}

let gguf: LlamaCppChatModel | undefined;

const loadGguf = (modelPath: string) =>
  createLlamaCppChatModel({ modelPath, template: createLlama2ChatTemplate(), threads: 1, logger: () => {} });

// `tiny-gguf`: a real (tiny, random-weight) model run by llama.cpp answers, streamed as the protocol says.
async function ggufChat(body: Record<string, unknown>, response: ServerResponse, record: RecordedRequest) {
  const modelPath = process.env.KAIWA_TEST_GGUF;
  if (!modelPath)
    return json(response, 404, errorBody('KAIWA_TEST_GGUF is not set', 'invalid_request_error', null));
  gguf ??= loadGguf(modelPath);
  const controller = new AbortController();
  response.on('close', () => controller.abort());
  const stop = body.stop as string[] | undefined;
  const request = {
    messages: body.messages as ChatMessage[],
    ...(typeof body.max_tokens === 'number' ? { maxTokens: body.max_tokens } : {}),
    ...(stop ? { stopSequences: stop } : {}),
    ...(typeof body.temperature === 'number' ? { temperature: body.temperature } : {}),
    ...(typeof body.seed === 'number' ? { seed: body.seed } : {}),
  };
  const base = { id: 'chatcmpl-gguf', object: 'chat.completion.chunk', created: 0, model: body.model };
  const reasons = { stop: 'stop', length: 'length' } as Record<string, string>;
  if (body.stream !== true) {
    const result = await gguf.generate(request);
    return json(response, 200, {
      ...base,
      object: 'chat.completion',
      choices: [
        {
          index: 0,
          finish_reason: reasons[result.finishReason] ?? 'stop',
          message: { role: 'assistant', content: result.text },
        },
      ],
      usage: {
        prompt_tokens: result.usage.inputTokens,
        completion_tokens: result.usage.outputTokens,
        total_tokens: result.usage.totalTokens,
      },
    });
  }
  response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  for await (const part of gguf.stream(request, { abortSignal: controller.signal })) {
    if (record.closedEarly) return;
    if (part.type === 'text-delta') {
      response.write(
        `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: { content: part.delta }, finish_reason: null }] })}\n\n`,
      );
      await sleep(5);
    } else if (part.type === 'finish') {
      response.write(
        `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: {}, finish_reason: reasons[part.finishReason] ?? 'stop' }] })}\n\n`,
      );
      const usage = {
        prompt_tokens: part.usage.inputTokens,
        completion_tokens: part.usage.outputTokens,
        total_tokens: part.usage.totalTokens,
      };
      response.write(`data: ${JSON.stringify({ ...base, choices: [], usage })}\n\n`);
    } else if (part.type === 'error') {
      response.write(
        `data: ${JSON.stringify({ error: { message: part.error.message, type: 'server_error', code: null } })}\n\n`,
      );
    }
  }
  response.end('data: [DONE]\n\n');
}

async function chat(body: Record<string, unknown>, response: ServerResponse, record: RecordedRequest) {
  const model = String(body.model);
  if (model === 'tiny-gguf') return ggufChat(body, response, record);
  const id = 'chatcmpl-test';
  const base = { id, object: 'chat.completion.chunk', created: 0, model };
  const stream = body.stream === true;
  const includeUsage =
    (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
  const input = promptTokens(body);

  // `tool` always calls `search`; any other model calls an offered tool the request forces (`tool_choice`).
  const choice = body.tool_choice as string | { function?: { name?: string } } | undefined;
  const offered = ((body.tools as { function?: { name?: string } }[] | undefined) ?? []).map(
    (tool) => tool.function?.name,
  );
  const wanted =
    typeof choice === 'object' ? choice.function?.name : choice === 'required' ? offered[0] : undefined;
  const forced = wanted !== undefined && offered.includes(wanted) ? wanted : undefined;
  if (model === 'tool' || forced) {
    const toolName = model === 'tool' ? 'search' : forced!;
    const argumentsParts = model === 'tool' ? ['{"query":', '"会議"}'] : ['{', '}'];
    const usage = { prompt_tokens: input, completion_tokens: 5, total_tokens: input + 5 };
    if (!stream) {
      return json(response, 200, {
        id,
        object: 'chat.completion',
        created: 0,
        model,
        choices: [
          {
            index: 0,
            finish_reason: 'tool_calls',
            message: {
              role: 'assistant',
              content: null,
              tool_calls: [
                {
                  id: 'call_a',
                  type: 'function',
                  function: { name: toolName, arguments: argumentsParts.join('') },
                },
              ],
            },
          },
        ],
        usage,
      });
    }
    return sse(
      response,
      [
        {
          ...base,
          choices: [
            {
              index: 0,
              delta: {
                role: 'assistant',
                tool_calls: [
                  {
                    index: 0,
                    id: 'call_a',
                    type: 'function',
                    function: { name: toolName, arguments: argumentsParts[0] },
                  },
                ],
              },
              finish_reason: null,
            },
          ],
        },
        {
          ...base,
          choices: [
            {
              index: 0,
              delta: { tool_calls: [{ index: 0, function: { arguments: argumentsParts[1] } }] },
              finish_reason: null,
            },
          ],
        },
        { ...base, choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }] },
        ...(includeUsage ? [{ ...base, choices: [], usage }] : []),
      ],
      0,
      record,
    );
  }

  if (model === 'mid-error') {
    return sse(
      response,
      [
        { ...base, choices: [{ index: 0, delta: { content: 'partial' }, finish_reason: null }] },
        { error: { message: 'the backend crashed', type: 'server_error', code: null } },
      ],
      0,
      record,
    );
  }

  const slow = model === 'slow';
  const { chunks, finish } = slow
    ? { chunks: Array(200).fill('tick '), finish: 'stop' as const }
    : model === 'cite'
      ? citingAnswer(body)
      : plan(body);
  const usage = {
    prompt_tokens: input,
    completion_tokens: chunks.length,
    total_tokens: input + chunks.length,
  };
  if (!stream) {
    return json(response, 200, {
      id,
      object: 'chat.completion',
      created: 0,
      model,
      choices: [
        { index: 0, finish_reason: finish, message: { role: 'assistant', content: chunks.join('') } },
      ],
      usage,
    });
  }
  await sse(
    response,
    [
      ...chunks.map((content, index) => ({
        ...base,
        choices: [
          {
            index: 0,
            delta: index === 0 ? { role: 'assistant', content } : { content },
            finish_reason: null,
          },
        ],
      })),
      { ...base, choices: [{ index: 0, delta: {}, finish_reason: finish }] },
      ...(includeUsage ? [{ ...base, choices: [], usage }] : []),
    ],
    slow ? 20 : 1,
    record,
  );
}

function completion(body: Record<string, unknown>, response: ServerResponse, record: RecordedRequest) {
  const model = String(body.model);
  const { chunks, finish } = plan(body);
  const input = promptTokens(body);
  const usage = {
    prompt_tokens: input,
    completion_tokens: chunks.length,
    total_tokens: input + chunks.length,
  };
  const base = { id: 'cmpl-test', object: 'text_completion', created: 0, model };
  if (body.stream !== true) {
    return json(response, 200, {
      ...base,
      choices: [{ index: 0, text: chunks.join(''), finish_reason: finish }],
      usage,
    });
  }
  const includeUsage =
    (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
  return sse(
    response,
    [
      ...chunks.map((text) => ({ ...base, choices: [{ index: 0, text, finish_reason: null }] })),
      { ...base, choices: [{ index: 0, text: '', finish_reason: finish }] },
      ...(includeUsage ? [{ ...base, choices: [], usage }] : []),
    ],
    1,
    record,
  );
}

function embeddings(body: Record<string, unknown>, response: ServerResponse) {
  const input = (typeof body.input === 'string' ? [body.input] : body.input) as string[];
  const vector = (text: string) => [
    text.length,
    words(text),
    [...text].reduce((s, c) => s + c.codePointAt(0)!, 0) % 97,
    1,
  ];
  json(response, 200, {
    object: 'list',
    model: body.model,
    // Sent out of order on purpose: clients must sort by index.
    data: input.map((text, index) => ({ object: 'embedding', index, embedding: vector(text) })).reverse(),
    usage: { prompt_tokens: input.reduce((sum, text) => sum + words(text), 0), total_tokens: 0 },
  });
}

async function handle(request: IncomingMessage, response: ServerResponse) {
  if (request.method === 'GET' && request.url === '/__requests') return json(response, 200, requests);
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
  const key = request.headers['x-test-key'] as string | undefined;
  const record: RecordedRequest = { path: request.url ?? '', body, key, at: Date.now(), closedEarly: false };
  requests.push(record);
  response.on('close', () => {
    if (!response.writableFinished) record.closedEarly = true;
  });
  const model = String(body.model);
  const attempt = (attempts.get(`${key}:${model}`) ?? 0) + 1;
  attempts.set(`${key}:${model}`, attempt);

  if (model === 'hang') return; // never answers
  if (model === 'missing') {
    return json(
      response,
      404,
      errorBody(`The model \`${model}\` does not exist.`, 'invalid_request_error', 'model_not_found'),
    );
  }
  if (model === 'context') {
    return json(
      response,
      400,
      errorBody(
        "This model's maximum context length is 16 tokens.",
        'invalid_request_error',
        'context_length_exceeded',
      ),
    );
  }
  if (model === 'always-429') {
    return json(response, 429, errorBody('slow down', 'rate_limit_error', null), { 'retry-after': '7' });
  }
  if (model === 'server-error') return json(response, 500, errorBody('boom', 'server_error', null));
  if (model === 'flaky' && attempt === 1) {
    return json(response, 429, errorBody('slow down', 'rate_limit_error', null), { 'retry-after': '1' });
  }
  if (model === 'flaky' && attempt === 2)
    return json(response, 503, errorBody('warming up', 'server_error', null));

  if (request.url === '/v1/chat/completions') return chat(body, response, record);
  if (request.url === '/v1/completions') return completion(body, response, record);
  if (request.url === '/v1/embeddings') return embeddings(body, response);
  return json(response, 404, errorBody(`no route ${request.url}`, 'invalid_request_error', null));
}

const server = createServer((request, response) => {
  handle(request, response).catch((error: unknown) => {
    if (!response.headersSent) json(response, 500, errorBody(String(error), 'server_error', null));
  });
});
// llama.cpp and the model load before the server says it listens: loading takes seconds on a busy machine,
// and belongs to the tests' setup, not to the first request's timeout.
if (process.env.KAIWA_TEST_GGUF) {
  gguf = loadGguf(process.env.KAIWA_TEST_GGUF);
  await gguf.generate({ messages: [{ role: 'user', content: 'warm up' }], maxTokens: 1 });
}

server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (address && typeof address === 'object') process.stdout.write(`listening ${address.port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
