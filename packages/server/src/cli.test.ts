import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { runCli } from './cli-program.js';

const repositoryRoot = fileURLToPath(new URL('../../../', import.meta.url));
const cliPath = fileURLToPath(new URL('./cli.ts', import.meta.url));
const dataDirectory = mkdtempSync(join(tmpdir(), 'kaiwa-cli-'));
afterAll(() => rmSync(dataDirectory, { recursive: true, force: true }));
/** An access token from the first start, to try after the restart. */
let tokenFromFirstStart = '';

/** Runs the CLI from source in a child process (tsx resolves the workspace packages from source too). */
function spawnCli(
  args: string[],
  env: Record<string, string>,
): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', cliPath, ...args], {
    cwd: repositoryRoot,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  return { child, output: () => output };
}

async function waitFor(read: () => string, pattern: RegExp, timeoutMs = 30_000): Promise<RegExpExecArray> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const match = pattern.exec(read());
    if (match) return match;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${pattern}; output so far:\n${read()}`);
}

describe('kaiwa start', () => {
  it('starts on a free port, prints the one-time password, serves, and shuts down gracefully on SIGTERM', async () => {
    const { child, output } = spawnCli(['start'], {
      PORT: '0',
      HOST: '127.0.0.1',
      KAIWA_DATA_DIR: dataDirectory,
    });
    try {
      const password = (await waitFor(output, /one-time password:\s+(\S+)/))[1]!;
      const base = (await waitFor(output, /Kaiwa is listening on (http:\/\/127\.0\.0\.1:\d+)/))[1]!;
      // The generated token secret is kept for the next start, readable only by the server.
      expect(statSync(join(dataDirectory, 'jwt-secret')).mode & 0o777).toBe(0o600);

      const login = await fetch(`${base}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'admin', password }),
      });
      expect(login.status).toBe(200);
      const session = (await login.json()) as { accessToken: string };
      const changed = await fetch(`${base}/api/v1/auth/change-password`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${session.accessToken}` },
        body: JSON.stringify({ currentPassword: password, newPassword: 'my own password 2026' }),
      });
      expect(changed.status).toBe(200);
      tokenFromFirstStart = ((await changed.json()) as { accessToken: string }).accessToken;
      expect((await fetch(`${base}/ready`)).status).toBe(200);
      const page = await fetch(`${base}/`, { headers: { accept: 'text/html' } });
      expect(page.status).toBe(200);

      // A WebSocket open at shutdown is told the server is going away.
      const socket = new WebSocket(`${base.replace('http', 'ws')}/ws`);
      await once(socket, 'open');
      const closed = once(socket, 'close') as Promise<[number, Buffer]>;
      const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
      child.kill('SIGTERM');
      const [code] = await closed;
      expect(code).toBe(1001);
      const [exitCode] = await exited;
      expect(exitCode).toBe(0);
      expect(output()).toContain('Kaiwa stopped.');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('keeps users, passwords and signed tokens across a restart, and creates no second admin', async () => {
    const { child, output } = spawnCli(['start'], {
      PORT: '0',
      HOST: '127.0.0.1',
      KAIWA_DATA_DIR: dataDirectory,
      KAIWA_TRUST_PROXY: '1',
    });
    try {
      const base = (await waitFor(output, /Kaiwa is listening on (http:\/\/127\.0\.0\.1:\d+)/))[1]!;
      expect(output()).not.toContain('one-time password');
      // Trusting a proxy is only safe when the port cannot be reached around it.
      await waitFor(
        output,
        /kaiwa: warning: KAIWA_TRUST_PROXY=1: .*must be reachable only through the proxy/,
      );
      const me = await fetch(`${base}/api/v1/auth/me`, {
        headers: { authorization: `Bearer ${tokenFromFirstStart}` },
      });
      expect(me.status).toBe(200);
      const login = await fetch(`${base}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'admin', password: 'my own password 2026' }),
      });
      expect(login.status).toBe(200);
      const exited = once(child, 'exit');
      child.kill('SIGINT');
      expect((await exited)[0]).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});

describe('kaiwa commands', () => {
  const environment = (env: Record<string, string>) => {
    const out: string[] = [];
    const err: string[] = [];
    return {
      out,
      err,
      cli: {
        env,
        stdout: (text: string) => void out.push(text),
        stderr: (text: string) => void err.push(text),
        onSignal: () => {},
        exit: () => {},
      },
    };
  };

  it('migrates, creates an admin and resets a password', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'kaiwa-cli-commands-'));
    try {
      const env = { KAIWA_DATA_DIR: directory, LOG_LEVEL: 'silent' };
      const migrate = environment(env);
      expect(await runCli(['node', 'kaiwa', 'migrate'], migrate.cli)).toBe(0);
      expect(migrate.out.join('')).toMatch(/^Migrated SQLite /);
      const again = environment(env);
      expect(await runCli(['node', 'kaiwa', 'migrate'], again.cli)).toBe(0);
      expect(again.out.join('')).toContain('is up to date');

      const create = environment(env);
      expect(await runCli(['node', 'kaiwa', 'create-admin', '--username', 'chief'], create.cli)).toBe(0);
      const created = /One-time password: (\S+)/.exec(create.out.join(''))?.[1];
      expect(created).toMatch(/^[A-Za-z0-9]{20}$/);

      const reset = environment(env);
      expect(await runCli(['node', 'kaiwa', 'reset-password', '--username', 'chief'], reset.cli)).toBe(0);
      const replaced = /New one-time password for chief: (\S+)/.exec(reset.out.join(''))?.[1];
      expect(replaced).toMatch(/^[A-Za-z0-9]{20}$/);
      expect(replaced).not.toBe(created);

      const missing = environment(env);
      expect(await runCli(['node', 'kaiwa', 'reset-password', '--username', 'nobody'], missing.cli)).toBe(1);
      expect(missing.err.join('')).toContain('nobody not found');
      const noName = environment(env);
      expect(await runCli(['node', 'kaiwa', 'create-admin'], noName.cli)).toBe(1);
      expect(noName.err.join('')).toContain('--username');
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it('refuses to start with wrong settings, listing them, and refuses anonymous mode in production', async () => {
    const wrong = environment({ PORT: 'http', KAIWA_MAX_UPLOAD_BYTES: '-1', KAIWA_DATA_DIR: dataDirectory });
    expect(await runCli(['node', 'kaiwa', 'start'], wrong.cli)).toBe(2);
    expect(wrong.err.join('')).toMatch(/PORT: .*\n.*KAIWA_MAX_UPLOAD_BYTES: /);
    const anonymous = environment({
      KAIWA_ACCOUNTS: 'false',
      NODE_ENV: 'production',
      KAIWA_DATA_DIR: dataDirectory,
    });
    expect(await runCli(['node', 'kaiwa', 'start'], anonymous.cli)).toBe(2);
    expect(anonymous.err.join('')).toContain('KAIWA_ALLOW_ANONYMOUS_IN_PRODUCTION=true');
    const openMetrics = environment({ NODE_ENV: 'production', KAIWA_DATA_DIR: dataDirectory });
    expect(await runCli(['node', 'kaiwa', 'start'], openMetrics.cli)).toBe(2);
    expect(openMetrics.err.join('')).toMatch(/KAIWA_METRICS_TOKEN: .*KAIWA_METRICS_PORT/);
  });
});
