import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';

const child = fileURLToPath(new URL('./test-support/crash-child.ts', import.meta.url));
const root = fileURLToPath(new URL('../../../', import.meta.url));

function launch(mode: 'start' | 'resume', filename: string, sideEffects: string): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', child, mode, filename, sideEffects], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function output(process: ChildProcess): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  process.stdout!.on('data', (chunk) => {
    stdout += chunk;
  });
  process.stderr!.on('data', (chunk) => {
    stderr += chunk;
  });
  return new Promise((resolve) => process.on('close', (code) => resolve({ code, stdout, stderr })));
}

/** The stored status of a step, read straight from the database file the child writes. */
function stepStatus(filename: string, stepId: string): string | undefined {
  if (!existsSync(filename)) return undefined;
  const database = new Database(filename, { readonly: true, fileMustExist: true });
  try {
    const row = database.prepare('select status from workflow_steps where step_id = ?').get(stepId) as
      | { status: string }
      | undefined;
    return row?.status;
  } catch {
    return undefined; // not migrated yet
  } finally {
    database.close();
  }
}

const directories: string[] = [];
const children: ChildProcess[] = [];
afterEach(() => {
  for (const each of children.splice(0)) each.kill('SIGKILL');
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

describe('WorkflowEngine crash recovery', () => {
  it('resumes a run after its process was killed, never re-running a completed step', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'kaiwa-crash-'));
    directories.push(directory);
    const filename = join(directory, 'kaiwa.db');
    const sideEffects = join(directory, 'side-effects.txt');

    const first = launch('start', filename, sideEffects);
    children.push(first);
    const firstDone = output(first);
    const deadline = Date.now() + 15_000;
    while (stepStatus(filename, 's2') !== 'succeeded') {
      if (Date.now() > deadline) throw new Error(`step s2 never finished: ${(await firstDone).stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    first.kill('SIGKILL');
    const killed = await firstDone;
    expect(killed.code).toBeNull();
    const runId = (JSON.parse(killed.stdout.trim().split('\n')[0]!) as { runId: string }).runId;
    expect(stepStatus(filename, 's4')).toBe('pending');

    const second = launch('resume', filename, sideEffects);
    children.push(second);
    const resumed = await output(second);
    expect(resumed.code, resumed.stderr).toBe(0);
    const result = JSON.parse(resumed.stdout.trim()) as {
      resumed: number;
      run: { id: string; status: string };
      steps: { stepId: string; status: string; attempts: number; output: { pid: number } }[];
    };
    expect(result.resumed).toBe(1);
    expect(result.run).toMatchObject({ id: runId, status: 'succeeded' });
    expect(result.steps.map((step) => step.status)).toEqual([
      'succeeded',
      'succeeded',
      'succeeded',
      'succeeded',
    ]);
    // The completed steps' outputs are the first process's, read back from the store.
    expect(result.steps[0]!.output.pid).toBe(first.pid);
    expect(result.steps[1]!.output.pid).toBe(first.pid);
    expect(result.steps[3]!.output.pid).toBe(second.pid);

    const lines = readFileSync(sideEffects, 'utf8').trim().split('\n');
    const count = (stepId: string) => lines.filter((line) => line === `${runId} ${stepId}`).length;
    expect(count('s1')).toBe(1);
    expect(count('s2')).toBe(1);
    // s3 was cut short by the kill (or had not begun): it runs again, and only it.
    expect(count('s3')).toBeGreaterThanOrEqual(1);
    expect(count('s3')).toBeLessThanOrEqual(2);
    // Every started run of s3 is an attempt; the kill may also land after an attempt was claimed and before
    // its side effect was written, which leaves one attempt without a line.
    expect(result.steps[2]!.attempts).toBeGreaterThanOrEqual(count('s3'));
    expect(result.steps[2]!.attempts).toBeLessThanOrEqual(count('s3') + 1);
    expect(count('s4')).toBe(1);
  }, 30_000);
});
