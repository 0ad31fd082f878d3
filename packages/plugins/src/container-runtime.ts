import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, realpathSync } from 'node:fs';
import { chmod, copyFile, cp, lstat, mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { request } from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import type Docker from 'dockerode';
import { z } from 'zod';
import { PluginError } from './errors.js';
import type { PluginPackage } from './manifest.js';
import type { PluginExit, PluginProcessHandle, PluginRuntime } from './process-runtime.js';

export interface ContainerRuntimeConfig {
  /**
   * The engine's Docker-compatible API socket (podman's `podman system service`, or Docker's own). Default: the
   * first that exists of `$XDG_RUNTIME_DIR/podman/podman.sock`, `/run/podman/podman.sock`, `/var/run/docker.sock`.
   */
  socketPath?: string;
  /** The Node binary copied into the image (with every library `ldd` lists). Default: the one running Kaiwa. */
  nodePath?: string;
  /** Added to the manifest's `limits.memoryMb` (the V8 heap) for the container's memory limit. Default 64. */
  memoryOverheadMb?: number;
  /** CPUs the container may use (`NanoCpus`). Default 0.5. */
  cpus?: number;
  /** Processes and threads in the container (`PidsLimit`); Node itself needs about 12. Default 64. */
  pidsLimit?: number;
  /** Images are named `<imagePrefix>-<plugin id>:<content hash>`. Default `localhost/kaiwa-plugin`. */
  imagePrefix?: string;
  /** Between SIGTERM and SIGKILL when a container is asked to stop. Default 2 s. */
  stopGraceMs?: number;
  /**
   * Images kept per plugin: once a new one is built, older ones beyond this many (newest first, the new one
   * included; the one before it serves a rollback) are removed, unless a container still uses them. Default 2.
   */
  keepImages?: number;
}

/** The HostConfig of every plugin container (exported for the tests and the docs). */
export interface PluginContainerLimits {
  memoryBytes: number;
  nanoCpus: number;
  pidsLimit: number;
  networkMode: string;
}

const MiB = 1024 * 1024;
/** Bumped when the image layout changes, so old images are not reused. */
const IMAGE_FORMAT = 1;
const NODE_IN_IMAGE = '/usr/local/bin/node';

/** The first engine socket that exists here, or `undefined`. */
export function defaultContainerSocket(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const candidates = [
    env.XDG_RUNTIME_DIR ? join(env.XDG_RUNTIME_DIR, 'podman', 'podman.sock') : undefined,
    '/run/podman/podman.sock',
    '/var/run/docker.sock',
  ];
  return candidates.find((path): path is string => path !== undefined && existsSync(path));
}

/** The HostConfig a plugin container runs with: nothing more than this is granted. */
export function pluginHostConfig(limits: PluginContainerLimits): Docker.HostConfig {
  return {
    NetworkMode: limits.networkMode,
    ReadonlyRootfs: true,
    CapDrop: ['ALL'],
    SecurityOpt: ['no-new-privileges'],
    Memory: limits.memoryBytes,
    MemorySwap: limits.memoryBytes,
    PidsLimit: limits.pidsLimit,
    NanoCpus: limits.nanoCpus,
    // The tmpfs takes the mode of the image's /tmp (1777); `mode=` and `uid=` are not usable here.
    Tmpfs: { '/tmp': 'rw,size=8m,noexec,nosuid' },
  };
}

const lddLine = /^\s*(?:\S+\s+=>\s+)?(\/\S+)\s+\(0x[0-9a-f]+\)\s*$/;

/** The shared libraries `ldd` lists for a binary (absolute paths as listed). */
function sharedLibraries(binary: string): string[] {
  const result = spawnSync('ldd', [binary], { encoding: 'utf8', timeout: 10_000 });
  if (result.status !== 0) {
    throw new PluginError('start_failed', `ldd ${binary} failed: ${result.stderr || result.error?.message}`);
  }
  return result.stdout.split('\n').flatMap((line) => {
    const match = lddLine.exec(line);
    return match?.[1] ? [match[1]] : [];
  });
}

async function filesOf(folder: string): Promise<string[]> {
  const files: string[] = [];
  const pending = [folder];
  for (let current = pending.pop(); current !== undefined; current = pending.pop()) {
    for (const entry of await readdir(current, { withFileTypes: true })) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) pending.push(path);
      else files.push(path);
    }
  }
  return files.sort();
}

/** What the image is made of: the plugin's files, node and its libraries (by path, size and time). */
async function contentHash(plugin: PluginPackage, node: string, libraries: string[]): Promise<string> {
  const hash = createHash('sha256').update(`kaiwa-plugin-image ${IMAGE_FORMAT}\n`);
  for (const path of [node, ...libraries]) {
    const info = await stat(path);
    hash.update(`${path} ${realpathSync(path)} ${info.size} ${info.mtimeMs}\n`);
  }
  for (const path of await filesOf(plugin.folder)) {
    const info = await lstat(path);
    hash.update(`${relative(plugin.folder, path)} ${info.mode}\n`);
    if (info.isFile()) hash.update(await readFile(path));
  }
  return hash.digest('hex').slice(0, 16);
}

/** Gives everyone read access (and directories search access) below `folder`: the container runs as 65534. */
async function makeWorldReadable(folder: string): Promise<void> {
  await chmod(folder, 0o755);
  for (const entry of await readdir(folder, { withFileTypes: true })) {
    const path = join(folder, entry.name);
    if (entry.isSymbolicLink()) continue;
    if (entry.isDirectory()) await makeWorldReadable(path);
    else await chmod(path, 0o644);
  }
}

/** A root file system: node, its libraries at the paths ldd names, the plugin at /plugin, /tmp with 1777. */
async function assembleRoot(root: string, plugin: PluginPackage, node: string, libraries: string[]) {
  await mkdir(join(root, 'usr/local/bin'), { recursive: true });
  await copyFile(node, join(root, NODE_IN_IMAGE));
  await chmod(join(root, NODE_IN_IMAGE), 0o755);
  for (const library of libraries) {
    await mkdir(join(root, dirname(library)), { recursive: true });
    await copyFile(library, join(root, library)); // follows links: the file itself at the listed path
    await chmod(join(root, library), 0o755);
  }
  await cp(plugin.folder, join(root, 'plugin'), { recursive: true, verbatimSymlinks: true });
  await makeWorldReadable(join(root, 'plugin'));
  for (const folder of ['tmp', 'etc', 'proc', 'sys', 'dev'])
    await mkdir(join(root, folder), { recursive: true });
  await chmod(join(root, 'tmp'), 0o1777);
}

const WaitResultSchema = z.object({ StatusCode: z.number().int() });
const VersionSchema = z.object({ Components: z.array(z.object({ Name: z.string() })).optional() }).loose();

/**
 * Attaches to a container's stdin, stdout and stderr: `POST /containers/{id}/attach` upgraded to a raw stream, as
 * dockerode's `attach({ hijack: true, stdin: true })` does, but with no request body: dockerode sends its options
 * as a JSON body (and a chunked terminator), and podman hands those bytes to the container's stdin, where they
 * would corrupt the first protocol line.
 */
function attach(socketPath: string, containerId: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const req = request({
      socketPath,
      method: 'POST',
      path: `/containers/${encodeURIComponent(containerId)}/attach?stream=1&stdin=1&stdout=1&stderr=1`,
      headers: { Connection: 'Upgrade', Upgrade: 'tcp' },
    });
    req.once('upgrade', (_response, socket, head) => {
      if (head.length > 0) socket.unshift(head);
      resolve(socket);
    });
    req.once('response', (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      response.on('end', () =>
        reject(new Error(`attach answered ${response.statusCode}: ${body.slice(0, 300)}`)),
      );
    });
    req.once('error', reject);
    req.end();
  });
}

/** Settles with the value, or `undefined` after `ms`. */
function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  return Promise.race([
    promise,
    new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), ms).unref()),
  ]);
}

/**
 * Runs each plugin in a container through the Docker-compatible API (podman's `podman system service`, or
 * Docker's engine) with dockerode. The image is assembled here, never pulled: this machine's node and the
 * libraries `ldd` lists, the plugin's folder at `/plugin`, imported as one layer and reused while the plugin's
 * files and node stay the same. The container has no network, whatever the manifest declares (its outbound HTTP
 * goes through Kaiwa's `http.fetch`, checked against the declared hosts), a read-only root, every capability dropped,
 * no-new-privileges, memory (= memory+swap), CPU and pids limits, an 8 MiB noexec tmpfs at /tmp, user 65534 and an
 * empty environment. The protocol runs over the container's stdin and stdout; its stderr goes to the plugin's log.
 * Of a plugin's images the newest `keepImages` (2) stay, older ones are removed when a new one is built.
 * The engine is reached lazily: without one, `launch` throws `PluginError` `container_engine_unavailable`.
 *
 * @example
 * const runtime = createContainerRuntime({ socketPath: '/run/podman/podman.sock' });
 * const host = new PluginHost({ ports, runtime: [createProcessRuntime(), runtime], engineVersion: '0.1.0' });
 */
export function createContainerRuntime(config: ContainerRuntimeConfig = {}): PluginRuntime & {
  /** Builds (or finds) the plugin's image and returns its name; `launch` does this too. */
  prepare(plugin: PluginPackage): Promise<string>;
  /** The limits a plugin's container gets. */
  limitsFor(plugin: PluginPackage): Promise<PluginContainerLimits>;
} {
  const nodePath = realpathSync(config.nodePath ?? process.execPath);
  const imagePrefix = config.imagePrefix ?? 'localhost/kaiwa-plugin';
  const stopGraceSeconds = Math.max(1, Math.ceil((config.stopGraceMs ?? 2_000) / 1000));
  let connection: Promise<{ docker: Docker; socketPath: string; engine: 'podman' | 'docker' }> | undefined;
  let libraries: string[] | undefined;
  const builds = new Map<string, Promise<string>>();

  const connect = (pluginId: string) => {
    connection ??= (async () => {
      const socketPath = config.socketPath ?? defaultContainerSocket();
      if (!socketPath) {
        throw new PluginError(
          'container_engine_unavailable',
          'no container engine socket found ($XDG_RUNTIME_DIR/podman/podman.sock, /run/podman/podman.sock, /var/run/docker.sock); start `podman system service` or Docker, or set KAIWA_PLUGIN_CONTAINER_SOCKET',
          { pluginId },
        );
      }
      const { default: DockerClient } = await import('dockerode');
      const docker = new DockerClient({ socketPath });
      try {
        await docker.ping();
        const version = VersionSchema.parse(await docker.version());
        const podman = version.Components?.some((component) => /podman/i.test(component.Name)) ?? false;
        return { docker, socketPath, engine: podman ? ('podman' as const) : ('docker' as const) };
      } catch (error) {
        throw new PluginError(
          'container_engine_unavailable',
          `the container engine at ${socketPath} does not answer: ${(error as Error).message}`,
          { pluginId, cause: error },
        );
      }
    })();
    // A failed connection is tried again next time (the engine may be started later).
    connection.catch(() => {
      connection = undefined;
    });
    return connection;
  };

  const buildImage = async (docker: Docker, plugin: PluginPackage, name: string, tag: string) => {
    const root = await mkdtemp(join(tmpdir(), 'kaiwa-plugin-root-'));
    try {
      await assembleRoot(root, plugin, nodePath, libraries ?? []);
      const tar = spawn('tar', ['-C', root, '--numeric-owner', '--owner=0', '--group=0', '-cf', '-', '.'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let tarError = '';
      tar.stderr.on('data', (chunk: Buffer) => {
        tarError += chunk.toString();
      });
      const tarDone = new Promise<number | null>((resolve) => tar.once('close', resolve));
      const progress = await docker.importImage(tar.stdout, { repo: `${name}:${tag}` });
      const events = await new Promise<unknown[]>((resolve, reject) =>
        docker.modem.followProgress(progress, (error, output) => (error ? reject(error) : resolve(output))),
      );
      const failed = events.find(
        (event): event is { error: string } =>
          typeof event === 'object' && event !== null && 'error' in event && typeof event.error === 'string',
      );
      if ((await tarDone) !== 0) throw new Error(`tar failed: ${tarError}`);
      if (failed) throw new Error(failed.error);
      await docker.getImage(`${name}:${tag}`).inspect();
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  };

  /** Removes the plugin's images beyond the newest `keepImages` (`image`, just built, always kept). */
  const pruneImages = async (docker: Docker, name: string, image: string) => {
    const keep = Math.max(1, config.keepImages ?? 2);
    const listed = await docker.listImages({ filters: { reference: [name] } });
    const older = listed
      .filter((entry) => !(entry.RepoTags ?? []).includes(image))
      .sort((a, b) => b.Created - a.Created)
      .slice(keep - 1);
    for (const entry of older) {
      // One a container still uses (an old version running elsewhere) stays: the engine refuses with 409.
      const removed = await docker
        .getImage(entry.Id)
        .remove()
        .then(
          () => true,
          () => false,
        );
      // Found again (or built again) by the next prepare, not taken from what this process built before.
      if (removed) for (const tag of entry.RepoTags ?? []) builds.delete(tag);
    }
  };

  const prepare = async (plugin: PluginPackage): Promise<string> => {
    const pluginId = plugin.manifest.id;
    const { docker } = await connect(pluginId);
    libraries ??= sharedLibraries(nodePath);
    const tag = await contentHash(plugin, nodePath, libraries);
    const name = `${imagePrefix}-${pluginId}`;
    const image = `${name}:${tag}`;
    let build = builds.get(image);
    if (!build) {
      build = (async () => {
        try {
          await docker.getImage(image).inspect();
          return image;
        } catch {
          // Not there yet: assemble and import it.
        }
        try {
          await buildImage(docker, plugin, name, tag);
        } catch (error) {
          throw new PluginError(
            'start_failed',
            `could not build the image of plugin "${pluginId}": ${(error as Error).message}`,
            { pluginId, cause: error },
          );
        }
        // Old images would pile up with every changed version (~100 MB each); failing to prune fails nothing.
        await pruneImages(docker, name, image).catch(() => {});
        return image;
      })();
      builds.set(image, build);
      build.catch(() => builds.delete(image));
    }
    return build;
  };

  const limitsFor = async (plugin: PluginPackage): Promise<PluginContainerLimits> => {
    await connect(plugin.manifest.id);
    return {
      memoryBytes: (plugin.manifest.limits.memoryMb + (config.memoryOverheadMb ?? 64)) * MiB,
      nanoCpus: Math.round((config.cpus ?? 0.5) * 1e9),
      pidsLimit: config.pidsLimit ?? 64,
      // Always none: a plugin's outbound HTTP goes through Kaiwa (`http.fetch`), checked host by host.
      networkMode: 'none',
    };
  };

  return {
    name: 'container',
    prepare,
    limitsFor,
    async launch(plugin): Promise<PluginProcessHandle> {
      const pluginId = plugin.manifest.id;
      const { docker, socketPath } = await connect(pluginId);
      const image = await prepare(plugin);
      const limits = await limitsFor(plugin);
      const entry = relative(plugin.folder, plugin.entryPath).split('\\').join('/');
      let container: Docker.Container;
      try {
        container = await docker.createContainer({
          name: `kaiwa-plugin-${pluginId}-${randomBytes(4).toString('hex')}`,
          Image: image,
          Entrypoint: [NODE_IN_IMAGE],
          Cmd: [`--max-old-space-size=${plugin.manifest.limits.memoryMb}`, `/plugin/${entry}`],
          Env: [],
          User: '65534:65534',
          WorkingDir: '/plugin',
          Labels: { 'kaiwa.plugin': pluginId },
          AttachStdin: true,
          AttachStdout: true,
          AttachStderr: true,
          OpenStdin: true,
          StdinOnce: true,
          Tty: false,
          HostConfig: pluginHostConfig(limits),
        });
      } catch (error) {
        throw new PluginError(
          'start_failed',
          `could not create the container of plugin "${pluginId}": ${(error as Error).message}`,
          { pluginId, cause: error },
        );
      }
      const remove = () => container.remove({ force: true }).catch(() => {});
      let stream: Socket;
      let waited: Promise<unknown>;
      try {
        stream = await attach(socketPath, container.id);
        // Registered before start: the default wait polls and adds up to 1.5 s.
        waited = container.wait({ condition: 'next-exit' });
        waited.catch(() => {});
        await container.start();
      } catch (error) {
        await remove();
        throw new PluginError(
          'start_failed',
          `could not start the container of plugin "${pluginId}": ${(error as Error).message}`,
          { pluginId, cause: error },
        );
      }
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      docker.modem.demuxStream(stream, stdout, stderr);
      const streamEnded = new Promise<void>((resolve) => {
        const end = () => resolve();
        stream.once('end', end);
        stream.once('close', end);
        stream.once('error', end);
      }).then(() => {
        stdout.end();
        stderr.end();
      });
      stream.on('error', () => {});
      const stdin = new Writable({
        write(chunk, _encoding, callback) {
          stream.write(chunk, callback);
        },
        final(callback) {
          stream.end();
          callback();
        },
      });
      stdin.on('error', () => {});
      let killed = false;
      const exited = waited
        .then(async (result): Promise<PluginExit> => {
          const code = WaitResultSchema.parse(result).StatusCode;
          // What it wrote before it ended (an out-of-heap report) arrives before the exit is reported.
          await within(streamEnded, 1_000);
          // The engine's OOMKilled flag stays false under cgroup v1 here: 137 not sent by us is the OOM killer.
          return { code, signal: null, outOfMemory: code === 137 && !killed };
        })
        .catch(async (): Promise<PluginExit> => ({ code: null, signal: null }))
        .finally(remove);
      return {
        pid: undefined,
        stdin,
        stdout,
        stderr,
        kill() {
          killed = true;
          void container.kill({ signal: 'SIGKILL' }).catch(() => {});
        },
        terminate() {
          // SIGTERM, then SIGKILL after the grace period (node as PID 1 ignores SIGTERM without a handler).
          killed = true;
          void container.stop({ t: stopGraceSeconds }).catch(() => {});
        },
        exited,
      };
    },
  };
}
