import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClamavScanner } from './clamav-scanner.js';

/*
 * A real clamd for tests, from Debian's clamav-daemon: its own temporary folder, config, unix socket, TCP
 * port on 127.0.0.1, and a signature database of one line this file writes (the EICAR test string's MD5,
 * size and a name), so it needs neither freshclam nor the network. `.ci/run` installs clamav-daemon and
 * exports KAIWA_TEST_CLAMD.
 */

/** The EICAR anti-virus test file: harmless, and reported by every scanner that knows its signature. */
export const EICAR = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';

/** clamd names signatures from a database it does not know as official with this suffix. */
export const EICAR_SIGNATURE = 'Kaiwa.Test.EICAR.UNOFFICIAL';

/** clamd's binary from KAIWA_TEST_CLAMD (`1` for /usr/sbin/clamd, or a path); undefined: skip the tests. */
export function testClamdBinary(): string | undefined {
  const setting = process.env.KAIWA_TEST_CLAMD?.trim();
  if (!setting || setting === '0' || setting === 'false') return undefined;
  return setting === '1' || setting === 'true' ? '/usr/sbin/clamd' : setting;
}

export interface TestClamd {
  socketPath: string;
  tcp: { host: string; port: number };
  /** The StreamMaxLength it runs with, in bytes. */
  streamMaxLength: number;
  /** Stops clamd (SIGTERM) and waits for it to exit; its socket is then gone. */
  stop(): Promise<void>;
  /** Starts it again after {@link stop}, with the same socket and port. */
  start(): Promise<void>;
  /** Freezes it (SIGSTOP): connections are accepted by the kernel but never answered. */
  pause(): void;
  resume(): void;
  /** Stops it and removes its folder. */
  close(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (free a moment ago). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Starts clamd and resolves once it answers PING.
 *
 * @example
 * const clamd = await startTestClamd(testClamdBinary()!, { streamMaxLength: 1024 * 1024 });
 * try { ... } finally { await clamd.close(); }
 */
export async function startTestClamd(
  binary: string,
  options: { streamMaxLength?: number } = {},
): Promise<TestClamd> {
  const folder = mkdtempSync(join(tmpdir(), 'kaiwa-clamd-'));
  const database = join(folder, 'db');
  mkdirSync(database);
  const md5 = createHash('md5').update(EICAR).digest('hex');
  writeFileSync(join(database, 'kaiwa-test.hdb'), `${md5}:${Buffer.byteLength(EICAR)}:Kaiwa.Test.EICAR\n`);
  const socketPath = join(folder, 'clamd.sock');
  const port = await freePort();
  const streamMaxLength = options.streamMaxLength ?? 1024 * 1024;
  const configPath = join(folder, 'clamd.conf');
  writeFileSync(
    configPath,
    [
      `LocalSocket ${socketPath}`,
      `TCPSocket ${port}`,
      'TCPAddr 127.0.0.1',
      `DatabaseDirectory ${database}`,
      `TemporaryDirectory ${folder}`,
      `LogFile ${join(folder, 'clamd.log')}`,
      'Foreground yes',
      `StreamMaxLength ${streamMaxLength}`,
      'MaxThreads 4',
      'SelfCheck 86400',
      '',
    ].join('\n'),
  );

  let child: ChildProcess | undefined;
  const start = async () => {
    const process_ = spawn(binary, ['-c', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
    child = process_;
    let output = '';
    process_.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const ping = new ClamavScanner({ address: { kind: 'unix', path: socketPath }, timeoutMs: 1000 });
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (process_.exitCode !== null) throw new Error(`clamd exited (${process_.exitCode}): ${output}`);
      if (
        existsSync(socketPath) &&
        (await ping.ping().then(
          () => true,
          () => false,
        ))
      )
        return;
      if (Date.now() > deadline) throw new Error(`clamd did not answer within 30 s: ${output}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const stop = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    running.kill('SIGCONT');
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGTERM');
    await exited;
    rmSync(socketPath, { force: true });
  };
  try {
    await start();
  } catch (error) {
    await stop();
    rmSync(folder, { recursive: true, force: true });
    throw error;
  }
  return {
    socketPath,
    tcp: { host: '127.0.0.1', port },
    streamMaxLength,
    stop,
    start,
    pause: () => child?.kill('SIGSTOP'),
    resume: () => child?.kill('SIGCONT'),
    async close() {
      await stop();
      rmSync(folder, { recursive: true, force: true });
    },
  };
}
