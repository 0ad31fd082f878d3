import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { User, UserRole } from '@kaiwa/core';
import type { LightMyRequestResponse } from 'fastify';
import { type BuildServerOptions, buildServer, type KaiwaServer } from './app.js';
import type { Session } from './auth/account-service.js';
import { loadConfig, type ServerConfig } from './config.js';

/*
 * Helpers for the server tests: a server on a private in-memory SQLite database with temporary data and
 * upload directories, and users signed in through the real account flows.
 */

/** A password that passes the policy, used for every test user. */
export const TEST_PASSWORD = 'correct horse battery staple';

/** Settings for a test server: in-memory database, temporary directories, quiet logs. */
export function testConfig(overrides: Partial<ServerConfig> = {}): {
  config: ServerConfig;
  cleanup: () => void;
} {
  const dataDirectory = mkdtempSync(join(tmpdir(), 'kaiwa-server-test-'));
  const config = {
    ...loadConfig({
      env: {
        KAIWA_DATA_DIR: dataDirectory,
        KAIWA_DATABASE_URL: ':memory:',
        LOG_LEVEL: 'silent',
        NODE_ENV: 'test',
        // Tests count rooms exactly; the default #general is tested on its own.
        KAIWA_DEFAULT_CHANNELS: 'none',
      },
    }),
    ...overrides,
  };
  return { config, cleanup: () => rmSync(dataDirectory, { recursive: true, force: true }) };
}

export interface TestServer {
  server: KaiwaServer;
  config: ServerConfig;
  /** What the first start printed (the admin's one-time password is in it). */
  announcements: string[];
  /** Signs in a new user of this role with {@link TEST_PASSWORD}. */
  signedIn(role: UserRole, username?: string): Promise<{ user: User; session: Session; token: string }>;
  /** `app.inject` with JSON and a bearer token. */
  call(
    method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE',
    url: string,
    options?: { token?: string; body?: unknown; headers?: Record<string, string> },
  ): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

let userCounter = 0;

/** Starts a composed server for `inject` calls (it does not listen). */
export async function startTestServer(
  overrides: Partial<ServerConfig> = {},
  options: BuildServerOptions = {},
): Promise<TestServer> {
  const { config, cleanup } = testConfig(overrides);
  const announcements: string[] = [];
  let server: KaiwaServer;
  try {
    server = await buildServer(config, { announce: (text) => announcements.push(text), ...options });
  } catch (error) {
    cleanup();
    throw error;
  }
  return {
    server,
    config,
    announcements,
    async signedIn(role, username) {
      userCounter += 1;
      const name = username ?? `${role}-${process.pid}-${userCounter}`;
      if (role === 'bot') throw new Error('bots sign in with API keys; use createApiKey');
      await server.accounts.createAccount({ username: name, role, password: TEST_PASSWORD });
      const session = await server.accounts.login(name, TEST_PASSWORD);
      return { user: session.user, session, token: session.accessToken };
    },
    call(method, url, callOptions = {}) {
      return server.app.inject({
        method,
        url,
        headers: {
          ...(callOptions.token ? { authorization: `Bearer ${callOptions.token}` } : {}),
          ...callOptions.headers,
        },
        ...(callOptions.body === undefined ? {} : { payload: callOptions.body as object }),
      });
    },
    async close() {
      await server.close();
      cleanup();
    },
  };
}

/** The one-time password in the first-start notice. */
export function oneTimePasswordIn(text: string): string {
  const match = /one-time password:\s+(\S+)/.exec(text);
  if (!match) throw new Error(`no one-time password in: ${text}`);
  return match[1]!;
}

/** A multipart/form-data body with fields and one file. */
export function multipartBody(
  fields: Record<string, string>,
  file: { name: string; content: Buffer | string; type?: string },
): { payload: Buffer; headers: Record<string, string> } {
  const boundary = `----kaiwa-test-${Math.random().toString(16).slice(2)}`;
  const parts: Buffer[] = [];
  for (const [name, value] of Object.entries(fields)) {
    parts.push(
      Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`),
    );
  }
  parts.push(
    Buffer.from(
      `--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="${file.name}"\r\n` +
        `content-type: ${file.type ?? 'application/octet-stream'}\r\n\r\n`,
    ),
    Buffer.isBuffer(file.content) ? file.content : Buffer.from(file.content),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  );
  return {
    payload: Buffer.concat(parts),
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
  };
}
