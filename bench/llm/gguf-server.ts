// A minimal OpenAI-compatible server (POST /v1/chat/completions, streaming over SSE) that answers with a GGUF
// run by node-llama-cpp directly, one request at a time, greedy, with no artificial delays. The benchmark runs
// it as a child process (`node --import tsx`); it prints `listening <port>` once bound to 127.0.0.1. Both
// clients under test (Kaiwa and the bare `openai` client) talk to this same server, so its cost cancels out.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { getLlama, LlamaLogLevel } from 'node-llama-cpp';

const modelPath = process.env.KAIWA_BENCH_GGUF;
if (!modelPath) throw new Error('KAIWA_BENCH_GGUF is not set');
const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
const model = await llama.loadModel({ modelPath });
const context = await model.createContext({ contextSize: 512, threads: 1 });
let queue: Promise<unknown> = Promise.resolve();

interface Body {
  model?: string;
  messages?: { role: string; content: string }[];
  max_tokens?: number;
}

// Same shape as Kaiwa's Llama-2 template with BOS as text: `<s>[INST] {user} [/INST]`.
const promptOf = (body: Body) =>
  `<s>[INST] ${(body.messages ?? []).map((message) => message.content.trim()).join('\n')} [/INST]`;

async function answer(body: Body, response: ServerResponse) {
  const tokens = model.tokenize(promptOf(body), true);
  const maxTokens = body.max_tokens ?? 16;
  const base = { id: 'chatcmpl-bench', object: 'chat.completion.chunk', created: 0, model: body.model };
  let closed = false;
  response.on('close', () => {
    closed = true;
  });
  response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const sequence = context.getSequence();
  const generated: number[] = [];
  let emitted = '';
  let finish = 'length';
  try {
    for await (const token of sequence.evaluate(tokens, { temperature: 0 })) {
      if (closed) return;
      if (token === model.tokens.eos) {
        finish = 'stop';
        break;
      }
      generated.push(token);
      const text = model.detokenize(generated as never);
      const delta = text.slice(emitted.length);
      emitted = text;
      const chunk = { ...base, choices: [{ index: 0, delta: { content: delta }, finish_reason: null }] };
      response.write(`data: ${JSON.stringify(chunk)}\n\n`);
      if (generated.length >= maxTokens) break;
    }
  } finally {
    sequence.dispose();
  }
  const usage = {
    prompt_tokens: tokens.length,
    completion_tokens: generated.length,
    total_tokens: tokens.length + generated.length,
  };
  response.write(
    `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: {}, finish_reason: finish }] })}\n\n`,
  );
  response.write(`data: ${JSON.stringify({ ...base, choices: [], usage })}\n\n`);
  response.end('data: [DONE]\n\n');
}

async function handle(request: IncomingMessage, response: ServerResponse) {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  if (request.method !== 'POST' || request.url !== '/v1/chat/completions') {
    response.writeHead(404, { 'content-type': 'application/json' });
    response.end(
      JSON.stringify({ error: { message: `no route ${request.url}`, type: 'invalid_request_error' } }),
    );
    return;
  }
  const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Body;
  const previous = queue;
  const done = previous.then(() => answer(body, response));
  queue = done.catch(() => {});
  await done;
}

const server = createServer((request, response) => {
  handle(request, response).catch((error: unknown) => {
    if (!response.headersSent) response.writeHead(500, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ error: { message: String(error), type: 'server_error' } }));
  });
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (address && typeof address === 'object') process.stdout.write(`listening ${address.port}\n`);
});
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// Never outlive the benchmark: exit when the parent goes away.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
