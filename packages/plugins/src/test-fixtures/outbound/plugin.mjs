// A plugin for the outbound HTTP tests: `outbound.fetch` asks Kaiwa for a request (http.fetch) and answers
// with what came back or the error; `outbound.connect` tries a socket of its own, which the sandbox must deny.
import * as net from 'node:net';
import { definePlugin } from '@kaiwa/plugin-sdk';

definePlugin({
  steps: {
    'outbound.fetch': async ({ input }, { http }) => {
      try {
        const body = input.bodyBytes === undefined ? input.body : 'x'.repeat(input.bodyBytes);
        const answer = await http.fetch(input.url, {
          method: input.method,
          headers: input.headers,
          ...(body === undefined ? {} : { body }),
        });
        return {
          status: answer.status,
          text: await answer.text(),
          headers: answer.headers,
          url: answer.url,
          redirected: answer.redirected,
        };
      } catch (error) {
        return { error: { code: error.code, message: error.message, data: error.data ?? null } };
      }
    },
    'outbound.connect': ({ input }) =>
      new Promise((resolve) => {
        const socket = net.connect({ host: input.host, port: input.port });
        const timer = setTimeout(() => {
          socket.destroy();
          resolve('denied: ETIMEDOUT');
        }, 1_000);
        socket.once('connect', () => {
          clearTimeout(timer);
          socket.destroy();
          resolve('connected');
        });
        socket.once('error', (error) => {
          clearTimeout(timer);
          resolve(`denied: ${error.code ?? error.name}`);
        });
      }),
  },
}).listen();
