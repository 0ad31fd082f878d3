import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type BuildServerOptions,
  buildServer,
  type KaiwaServer,
  loadConfig,
  type ServerConfig,
} from '@kaiwa/server';

/**
 * A real reference server in this process for the client's tests: a temporary data folder (SQLite), port 0,
 * quiet logs. `overrides` changes settings (plugins, say); `options` passes an embedding model and the like.
 * The caller closes the server and removes `folder`.
 */
export async function startClientTestServer(
  name: string,
  options: Omit<BuildServerOptions, 'announce'> = {},
  overrides: Partial<ServerConfig> = {},
): Promise<{ server: KaiwaServer; baseUrl: string; folder: string }> {
  const folder = mkdtempSync(join(tmpdir(), `kaiwa-client-${name}-`));
  const config = loadConfig({ env: { KAIWA_DATA_DIR: folder, LOG_LEVEL: 'silent', NODE_ENV: 'test' } });
  const server = await buildServer(
    { ...config, host: '127.0.0.1', port: 0, ...overrides },
    { announce: () => {}, ...options },
  );
  return { server, baseUrl: await server.listen(), folder };
}
