import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/**
 * Serves the built web UI from `uiDirectory` when it has an `index.html`, with the UI's own client-side
 * routes falling back to it. While the UI is not built, `/` is a short page that says so and points to
 * the API documentation.
 */
export async function registerWebUi(
  app: FastifyInstance,
  uiDirectory: string,
  accountsEnabled: boolean,
): Promise<void> {
  if (existsSync(join(uiDirectory, 'index.html'))) {
    await app.register(fastifyStatic, {
      root: uiDirectory,
      // Routes for the files that exist at start; anything else goes to the catch-all below.
      wildcard: false,
      index: ['index.html'],
      // Built assets carry content hashes in their names; index.html, the service worker (/sw.js, whose
      // updates browsers must see) and the manifest keep fixed names and must be fetched fresh.
      setHeaders: (reply, path) => {
        reply.header(
          'cache-control',
          /(index\.html|sw\.js|\.webmanifest)$/.test(path)
            ? 'no-cache'
            : 'public, max-age=31536000, immutable',
        );
      },
    });
    // The UI's own routes (/rooms/…) are pages too: answer them with index.html, and everything else 404.
    app.get('/*', { schema: { hide: true } }, (request, reply) =>
      wantsPage(request) ? reply.sendFile('index.html') : reply.callNotFound(),
    );
    return;
  }

  app.get('/', { schema: { hide: true } }, (_request, reply) =>
    reply.type('text/html; charset=utf-8').send(placeholderPage(reply.cspNonce?.style, accountsEnabled)),
  );
}

/** A GET for a page (not the API, not a file with an extension) from a browser. */
function wantsPage(request: FastifyRequest): boolean {
  const path = request.url.split('?')[0] ?? '';
  return (
    request.method === 'GET' &&
    !path.startsWith('/api/') &&
    !/\.[a-z0-9]+$/i.test(path) &&
    (request.headers.accept ?? '').includes('text/html')
  );
}

function placeholderPage(styleNonce: string | undefined, accountsEnabled: boolean): string {
  const nonce = styleNonce ? ` nonce="${styleNonce}"` : '';
  const signIn = accountsEnabled
    ? 'Sign in with <code>POST /api/v1/auth/login</code>; the first start printed the one-time password of ' +
      '<code>admin</code> to the console.'
    : 'Accounts are off: pick a nickname with <code>POST /api/v1/auth/anonymous</code>.';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Kaiwa</title>
<style${nonce}>
  body { font: 16px/1.5 system-ui, sans-serif; margin: 0; display: grid; place-items: center; min-height: 100vh;
         background: #f6f7f9; color: #1d2330; }
  main { max-width: 34rem; padding: 2rem; background: #fff; border-radius: 12px; box-shadow: 0 1px 4px #0002; }
  h1 { margin-top: 0; font-size: 1.6rem; }
  code { background: #eef0f4; padding: 0 .3em; border-radius: 4px; }
  a { color: #2456c7; }
</style>
</head>
<body>
<main>
  <h1>Kaiwa 会話 is running</h1>
  <p>The server is up, but the web chat UI is still being built, so there is nothing to chat in here yet.</p>
  <p>Meanwhile everything works over the API:</p>
  <ul>
    <li><a href="/api/docs">API documentation</a> (OpenAPI, try it in the browser)</li>
    <li><a href="/api/v1/server">what this server offers</a>, <a href="/health">health</a>,
        <a href="/ready">readiness</a></li>
  </ul>
  <p>${signIn}</p>
</main>
</body>
</html>
`;
}
