import Fastify from 'fastify';

/*
 * The start-up benchmark's baseline (bench/startup/run.ts): a bare Fastify server with one route,
 * `GET /health`, on 127.0.0.1 and the port in PORT (0: any). Prints `listening on <url>` once bound and
 * stops on SIGTERM, as `kaiwa start` does.
 */

const app = Fastify();
app.get('/health', async () => ({ status: 'ok' }));
const url = await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0) });
process.stdout.write(`listening on ${url}\n`);
process.on('SIGTERM', () => {
  app.close().then(() => process.exit(0));
});
