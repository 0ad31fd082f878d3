import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface TestServer {
  baseURL: string;
  port: number;
  requests(): Promise<
    { path: string; body: Record<string, unknown>; key?: string; at: number; closedEarly: boolean }[]
  >;
  stop(): Promise<void>;
}

/**
 * Starts `openai-compatible-server.ts` as a child process on 127.0.0.1, port 0. With `KAIWA_TEST_GGUF` set to a
 * GGUF path, the model `tiny-gguf` is answered by llama.cpp running that file.
 */
export async function startTestServer(env: Record<string, string> = {}): Promise<TestServer> {
  const script = fileURLToPath(new URL('./openai-compatible-server.ts', import.meta.url));
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
  });
  const port = await new Promise<number>((resolve, reject) => {
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const match = /listening (\d+)/.exec(output);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`test server exited with ${code} before listening`)));
  });
  const baseURL = `http://127.0.0.1:${port}/v1`;
  return {
    baseURL,
    port,
    async requests() {
      const response = await fetch(`http://127.0.0.1:${port}/__requests`);
      return (await response.json()) as Awaited<ReturnType<TestServer['requests']>>;
    },
    async stop() {
      if (child.exitCode !== null) return;
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      });
    },
  };
}
