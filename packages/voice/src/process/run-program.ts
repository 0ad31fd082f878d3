import { spawn } from 'node:child_process';
import { basename } from 'node:path';
import { EngineMissingError, VoiceError } from '@kaiwa/core';

/** How to install each program a backend runs, for the message of `EngineMissingError`. */
const INSTALL_HINTS: Record<string, string> = {
  ffmpeg: 'apt-get install ffmpeg',
  flite: 'apt-get install flite',
  'espeak-ng': 'apt-get install espeak-ng',
  pocketsphinx_continuous: 'apt-get install pocketsphinx pocketsphinx-en-us',
};

export interface RunProgramOptions {
  /** Written to the program's stdin, which is then closed. */
  input?: Uint8Array | string;
  timeoutMs?: number;
  abortSignal?: AbortSignal | undefined;
  /** Names the backend in errors. */
  provider?: string | undefined;
}

/** Throws the typed `aborted` error when the signal is already aborted. */
export function throwIfAborted(signal: AbortSignal | undefined, provider: string | undefined): void {
  if (signal?.aborted) throw new VoiceError('aborted', 'the voice call was aborted', { provider });
}

/**
 * Runs a program to completion and returns its stdout. A missing program is an `EngineMissingError` naming it
 * and its install command; a non-zero exit an `engine_failed` error carrying the end of stderr; the timeout
 * and the abort signal kill it.
 */
export function runProgram(
  program: string,
  args: string[],
  options: RunProgramOptions = {},
): Promise<Buffer> {
  const { provider } = options;
  throwIfAborted(options.abortSignal, provider);
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let settled = false;
    const finish = (error: VoiceError | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.abortSignal?.removeEventListener('abort', onAbort);
      if (error) {
        child.kill('SIGKILL');
        reject(error);
      } else resolve(Buffer.concat(stdout));
    };
    const onAbort = () => finish(new VoiceError('aborted', `${program} was aborted`, { provider }));
    options.abortSignal?.addEventListener('abort', onAbort, { once: true });
    const timeoutMs = options.timeoutMs ?? 120_000;
    const timer = setTimeout(
      () =>
        finish(
          new VoiceError('timeout', `${program} did not finish within ${timeoutMs} ms`, {
            provider,
            isRetryable: true,
          }),
        ),
      timeoutMs,
    );
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') {
        const name = basename(program);
        const hint = `${INSTALL_HINTS[name] ?? `install ${name}`}${name === program ? '' : `; looked for ${program}`}`;
        finish(new EngineMissingError(name, hint, { provider, cause: error }));
      } else
        finish(
          new VoiceError('engine_failed', `${program} could not start: ${error.message}`, {
            provider,
            cause: error,
          }),
        );
    });
    child.on('close', (code, signal) => {
      if (code === 0) return finish(undefined);
      const tail = Buffer.concat(stderr).toString('utf8').trim().split('\n').slice(-3).join(' | ');
      finish(
        new VoiceError(
          'engine_failed',
          `${program} exited with ${code ?? signal}${tail ? `: ${tail}` : ''}`,
          {
            provider,
          },
        ),
      );
    });
    // A program that exits before reading all of stdin (a bad file) closes the pipe: its exit code tells.
    child.stdin.on('error', () => {});
    child.stdin.end(options.input ?? '');
  });
}
