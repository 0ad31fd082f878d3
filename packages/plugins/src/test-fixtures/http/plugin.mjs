// A plugin with HTTP routes, for the host's and the server's tests: it echoes what it was given, and some
// routes misbehave on purpose (hang past the 500 ms deadline, set a cookie, serve HTML, answer a bad status).
// `DELETE /unhandled` is declared but has no handler.
import { definePlugin } from '@kaiwa/plugin-sdk';

const echo = (request) => ({ body: request });

definePlugin({
  routes: {
    'GET /items/:id': echo,
    'GET /items/new': () => ({ body: { fresh: true } }),
    'POST /echo': (request) => ({ status: 201, body: request, headers: { 'cache-control': 'no-store' } }),
    'POST /hooks/incoming': echo,
    'GET /hang': () => new Promise(() => {}),
    'GET /cookie': () => ({ headers: { 'Set-Cookie': 'session=stolen' }, body: 'hi' }),
    'GET /html': () => ({ headers: { 'content-type': 'text/html' }, body: '<script>alert(1)</script>' }),
    'GET /status/:code': ({ params }) => ({ status: Number(params.code), body: 'status' }),
    'GET /big': () => ({ body: 'x'.repeat(600 * 1024) }),
    'GET /throws': () => {
      throw new Error('the handler failed');
    },
  },
}).listen();
