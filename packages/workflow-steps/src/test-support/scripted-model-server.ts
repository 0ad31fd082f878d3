import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/*
 * A tiny OpenAI-compatible chat completions server for tests: it answers each request with the next
 * scripted reply (non-streaming and streaming), over real HTTP on 127.0.0.1 and port 0, and records the
 * requests. The real `openai` client in `@kaiwa/llm` talks to it.
 */

export interface ScriptedModelServer {
  baseURL: string;
  /** Replies for the next requests, in order; when empty the server answers "(no reply scripted)". */
  replies: string[];
  requests: { messages: { role: string; content: string }[] }[];
  close(): Promise<void>;
}

export async function startScriptedModelServer(): Promise<ScriptedModelServer> {
  const replies: string[] = [];
  const requests: ScriptedModelServer['requests'] = [];
  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      response.writeHead(500, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: { message: String(error), type: 'server_error' } }));
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
    if (request.url !== '/v1/chat/completions') {
      response.writeHead(404, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({ error: { message: `no route ${request.url}`, type: 'invalid_request_error' } }),
      );
      return;
    }
    requests.push({ messages: body.messages as { role: string; content: string }[] });
    const content = replies.shift() ?? '(no reply scripted)';
    const base = { id: 'chatcmpl-scripted', created: 0, model: body.model };
    const usage = { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 };
    if (body.stream === true) {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      const events = [
        {
          ...base,
          object: 'chat.completion.chunk',
          choices: [{ index: 0, delta: { role: 'assistant', content }, finish_reason: null }],
        },
        {
          ...base,
          object: 'chat.completion.chunk',
          choices: [{ index: 0, delta: {}, finish_reason: 'stop' }],
        },
        { ...base, object: 'chat.completion.chunk', choices: [], usage },
      ];
      for (const event of events) response.write(`data: ${JSON.stringify(event)}\n\n`);
      response.end('data: [DONE]\n\n');
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(
      JSON.stringify({
        ...base,
        object: 'chat.completion',
        choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content } }],
        usage,
      }),
    );
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    replies,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
