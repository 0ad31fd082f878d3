import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHashedNgramTestEmbedding } from '@kaiwa/knowledge';

/**
 * A local server that speaks the OpenAI embeddings API (`POST /v1/embeddings`), answering with the hashed
 * n-gram test embedding: what `KAIWA_EMBEDDINGS` points at in tests. `state.failing` makes it answer 503, a
 * backend that is down.
 *
 * @example
 * const embeddings = await startOpenAIEmbeddingsServer();
 * loadConfig({ env: { KAIWA_EMBEDDINGS: embeddings.url, KAIWA_EMBEDDING_MODEL: 'hashed-ngrams' } });
 */
export async function startOpenAIEmbeddingsServer(
  options: { dimensions?: number } = {},
): Promise<{ url: string; server: Server; state: { failing: boolean } }> {
  const embedding = createHashedNgramTestEmbedding({ dimensions: options.dimensions ?? 96 });
  const state = { failing: false };
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', async () => {
      if (state.failing || request.url !== '/v1/embeddings') {
        response.writeHead(state.failing ? 503 : 404, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ error: { message: state.failing ? 'unavailable' : 'not found' } }));
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        input: string | string[];
        model: string;
      };
      const input = Array.isArray(body.input) ? body.input : [body.input];
      const { embeddings } = await embedding.embed(input);
      const tokens = input.join(' ').length;
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({
          object: 'list',
          model: body.model,
          data: embeddings.map((vector, index) => ({ object: 'embedding', index, embedding: vector })),
          usage: { prompt_tokens: tokens, total_tokens: tokens },
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, server, state };
}
