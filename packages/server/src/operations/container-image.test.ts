import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/*
 * The container image an operator runs (deploy/image/build-image.mjs), built and run with podman as they
 * would: /health answers through a published port, a user and a message survive a stop and a new container
 * on the same named volume, SIGTERM stops it gracefully, and the server runs as a non-root user. podman
 * comes from .ci/run; without it this test skips, unless KAIWA_TEST_PODMAN=1 makes that a failure.
 */

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const BUILD_SCRIPT = join(ROOT, 'deploy/image/build-image.mjs');

const hasPodman = spawnSync('podman', ['--version']).status === 0;
const required = process.env.KAIWA_TEST_PODMAN === '1';
if (!hasPodman && required)
  throw new Error('KAIWA_TEST_PODMAN=1 but podman is missing: apt-get install podman runc');
const isBuilt = ['packages/server/dist/cli.js', 'packages/server/ui/dist/index.html'].every((file) =>
  existsSync(join(ROOT, file)),
);
if (hasPodman && !isBuilt && required)
  throw new Error('KAIWA_TEST_PODMAN=1 but the server is not built: npm install');
const skipReason = !hasPodman
  ? 'podman is missing (apt-get install podman runc slirp4netns busybox-static)'
  : !isBuilt
    ? 'the server is not built (npm install builds packages/server/dist and the web UI)'
    : undefined;
if (skipReason) console.warn(`container image test skipped: ${skipReason}`);

const PASSWORD = 'a container password that is long enough';

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  return typeof address === 'object' && address ? address.port : 0;
}

describe.skipIf(skipReason !== undefined)('the reference server image', () => {
  const run = randomBytes(4).toString('hex');
  const tag = `localhost/kaiwa-test:${run}`;
  const volume = `kaiwa-test-${run}`;
  const containers: string[] = [];
  let work: string;
  let environment: NodeJS.ProcessEnv;
  let buildLine = '';

  /** Runs podman with this test's containers.conf; returns what it printed. */
  function podman(...args: string[]): { status: number | null; stdout: string; stderr: string } {
    const result = spawnSync('podman', args, { env: environment, encoding: 'utf8', timeout: 120_000 });
    return { status: result.status, stdout: result.stdout.trim(), stderr: result.stderr.trim() };
  }

  /** Starts a container of the image on the data volume, published on 127.0.0.1; waits for /health. */
  async function startContainer(name: string): Promise<string> {
    const port = await freePort();
    const started = podman(
      'run',
      '--detach',
      '--name',
      name,
      '--publish',
      `127.0.0.1:${port}:8080`,
      '--volume',
      `${volume}:/var/lib/kaiwa`,
      '--env',
      'KAIWA_ALLOW_SIGNUP=true',
      '--env',
      'KAIWA_DEFAULT_CHANNELS=general',
      tag,
    );
    expect(started.stderr).toBe('');
    expect(started.status).toBe(0);
    containers.push(name);
    const base = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 60_000;
    for (;;) {
      const answer = await fetch(`${base}/health`).catch(() => undefined);
      if (answer?.ok) {
        expect(await answer.json()).toMatchObject({ status: 'ok' });
        return base;
      }
      if (Date.now() > deadline) {
        throw new Error(`no /health from ${name} within 60 s; its log:\n${podman('logs', name).stderr}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  async function api(base: string, method: string, path: string, body?: unknown, token?: string) {
    const answer = await fetch(`${base}/api/v1${path}`, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: answer.status, body: (await answer.json()) as Record<string, unknown> };
  }

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'kaiwa-image-test-'));
    // The default OCI runtime (crun) fails on some hosts; runc works wherever podman does.
    writeFileSync(
      join(work, 'containers.conf'),
      '[engine]\nruntime="runc"\n[containers]\ndefault_ulimits=["nofile=20000:20000","nproc=4096:4096"]\n',
    );
    environment = { ...process.env, CONTAINERS_CONF: join(work, 'containers.conf') };
    // The script builds with the Node running this test: better-sqlite3 in node_modules is built for it.
    const build = spawn(process.execPath, [BUILD_SCRIPT, '--quiet', '--tag', tag], {
      cwd: ROOT,
      env: environment,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    build.stdout.on('data', (chunk) => {
      output += chunk;
    });
    build.stderr.on('data', (chunk) => {
      output += chunk;
    });
    const code = await new Promise((resolve) => build.once('close', resolve));
    if (code !== 0) throw new Error(`build-image.mjs failed (${code}):\n${output}`);
    buildLine = output.trim();
  }, 300_000);

  afterAll(() => {
    if (!environment) return;
    for (const name of containers) podman('rm', '--force', '--time', '0', name);
    podman('volume', 'rm', '--force', volume);
    podman('rmi', '--force', tag);
    rmSync(work, { recursive: true, force: true });
  }, 60_000);

  it('answers /health, keeps its data on the volume across a restart, stops on SIGTERM, runs as non-root', async () => {
    expect(buildLine).toMatch(new RegExp(`^Built ${tag} \\(\\d+ MB, node v[\\d.]+\\) in [\\d.]+ s$`));
    const first = `kaiwa-test-${run}-1`;
    const base = await startContainer(first);

    // The server process, as the host sees it and as it sees itself.
    expect(podman('top', first, 'huser', 'user').stdout.split('\n').slice(1)).toEqual([
      expect.stringMatching(/^10001\s+kaiwa$/),
    ]);
    expect(podman('exec', first, 'id', '-u').stdout).toBe('10001');
    // The web UI's built assets are in the image.
    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<div id="app"');

    const signup = await api(base, 'POST', '/auth/signup', { username: 'ada', password: PASSWORD });
    expect(signup.status).toBe(201);
    const token = signup.body.accessToken as string;
    const rooms = (await api(base, 'GET', '/rooms', undefined, token)).body.rooms as {
      room: { id: string; name: string };
    }[];
    const general = rooms.find((entry) => entry.room.name === 'general')?.room;
    expect(general).toBeDefined();
    const text = `kept across restarts ${run}`;
    const sent = await api(base, 'POST', `/rooms/${general?.id}/messages`, { text }, token);
    expect(sent.status).toBe(201);

    // `podman stop` sends SIGTERM (the image's STOPSIGNAL) and waits up to --time before a SIGKILL.
    const stopStarted = Date.now();
    expect(podman('stop', '--time', '20', first).status).toBe(0);
    const stopSeconds = (Date.now() - stopStarted) / 1000;
    expect(stopSeconds).toBeLessThan(10);
    expect(podman('inspect', '--format', '{{.State.ExitCode}}', first).stdout).toBe('0');
    const log = podman('logs', first);
    expect(log.stdout).toMatch(/"signal":"SIGTERM","msg":"shutting down/);
    expect(log.stdout).toContain('Kaiwa stopped.');

    const base2 = await startContainer(`kaiwa-test-${run}-2`);
    const login = await api(base2, 'POST', '/auth/login', { username: 'ada', password: PASSWORD });
    expect(login.status).toBe(200);
    const history = await api(
      base2,
      'GET',
      `/rooms/${general?.id}/messages`,
      undefined,
      login.body.accessToken as string,
    );
    expect((history.body.messages as { text: string }[]).map((message) => message.text)).toContain(text);
  }, 180_000);
});
