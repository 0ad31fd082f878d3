import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Whether podman is installed here. */
export const podmanAvailable = spawnSync('podman', ['--version'], { stdio: 'ignore' }).status === 0;

/**
 * Where podman is missing: skip with one line, unless KAIWA_TEST_PODMAN=1 (CI), where that is a failure.
 * Returns whether the tests run.
 */
export function requirePodman(what: string): boolean {
  if (podmanAvailable) return true;
  if (process.env.KAIWA_TEST_PODMAN === '1') {
    throw new Error(`KAIWA_TEST_PODMAN=1 but podman is not installed: cannot test ${what}`);
  }
  console.warn(`skipping ${what}: podman is not installed (KAIWA_TEST_PODMAN=1 makes this a failure)`);
  return false;
}

export interface PodmanService {
  socketPath: string;
  stop(): Promise<void>;
}

function ping(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/_ping', timeout: 1_000 }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

/**
 * Starts `podman system service` on a private socket, with a containers.conf of its own: runc (crun fails on
 * this kind of machine) and the ulimits the verified setup uses. `stop` ends it and removes its folder.
 */
export async function startPodmanService(): Promise<PodmanService> {
  const folder = await mkdtemp(join(tmpdir(), 'kaiwa-podman-'));
  const conf = join(folder, 'containers.conf');
  await writeFile(
    conf,
    '[engine]\nruntime="runc"\n[containers]\ndefault_ulimits=["nofile=20000:20000","nproc=4096:4096"]\n',
  );
  const socketPath = join(folder, 'podman.sock');
  const service: ChildProcess = spawn('podman', ['system', 'service', '--time=0', `unix://${socketPath}`], {
    env: { ...process.env, CONTAINERS_CONF: conf },
    // conmon writes an empty `oom` file into its working folder when a container is killed for memory:
    // this folder, not the checkout.
    cwd: folder,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  service.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2000);
  });
  const started = Date.now();
  while (!(existsSync(socketPath) && (await ping(socketPath)))) {
    if (service.exitCode !== null || Date.now() - started > 20_000) {
      service.kill('SIGKILL');
      throw new Error(`podman system service did not start: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    socketPath,
    async stop() {
      if (service.exitCode === null) {
        const ended = new Promise((resolve) => service.once('exit', resolve));
        service.kill('SIGTERM');
        await Promise.race([ended, new Promise((resolve) => setTimeout(resolve, 5_000))]);
        if (service.exitCode === null) service.kill('SIGKILL');
      }
      await rm(folder, { recursive: true, force: true });
    },
  };
}
