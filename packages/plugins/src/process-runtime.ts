import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { PluginError } from './errors.js';
import type { PluginPackage } from './manifest.js';

/** How a plugin process ended. */
export interface PluginExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The runtime knows it ran out of memory (a container's exit 137 that Kaiwa did not cause). */
  outOfMemory?: boolean;
}

/** A started plugin: its protocol streams, a way to kill it, and its end. */
export interface PluginProcessHandle {
  readonly pid: number | undefined;
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** Kills at once (SIGKILL); `exited` settles when it is gone. */
  kill(): void;
  /** Asks it to end (SIGTERM), killing it after the runtime's grace period; without it, `kill` after a grace. */
  terminate?(): void;
  readonly exited: Promise<PluginExit>;
}

/**
 * Where plugins run. `process` and `container` (podman or Docker through dockerode) start the same plugin folders
 * and speak the same protocol over the returned streams.
 */
export interface PluginRuntime {
  readonly name: 'process' | 'container';
  /** Starts the plugin's entry; throws `PluginError` when the runtime cannot isolate it as required. */
  launch(plugin: PluginPackage): Promise<PluginProcessHandle>;
}

export interface ProcessRuntimeConfig {
  /**
   * Start plugins even where no network namespace can be made (`unshare` missing or not permitted): they then
   * reach every host the Kaiwa server reaches. Off by default: without it such a start throws
   * `network_isolation_unavailable`.
   */
  acceptUnisolatedNetwork?: boolean;
  /** `auto` (default) uses `unshare` when it works here; `none` never does (tests of the refusal). */
  networkIsolation?: 'auto' | 'none';
  /** The Node binary for plugins. Default: the one running Kaiwa. */
  nodePath?: string;
}

/** How this machine can isolate the network: the command prefix, or `undefined` when it cannot. */
export type NetworkIsolation = { prefix: string[]; description: string } | undefined;

let detectedIsolation: NetworkIsolation | null = null;
const permissionFlags = new Map<string, string>();

/**
 * Finds a working way to start a process without network: `unshare --net` (as root), else an unprivileged user
 * namespace (`unshare --net --map-root-user`). Tried once per process; Linux only.
 */
export function detectNetworkIsolation(): NetworkIsolation {
  if (detectedIsolation !== null) return detectedIsolation;
  detectedIsolation = undefined;
  const unshare = ['/usr/bin/unshare', '/bin/unshare'].find((path) => existsSync(path));
  if (process.platform === 'linux' && unshare) {
    for (const flags of [['--net'], ['--net', '--map-root-user']]) {
      const probe = spawnSync(unshare, [...flags, '--', process.execPath, '-e', '0'], {
        env: {},
        stdio: 'ignore',
        timeout: 5_000,
      });
      if (probe.status === 0) {
        detectedIsolation = {
          prefix: [unshare, ...flags, '--'],
          description: `${unshare} ${flags.join(' ')}`,
        };
        break;
      }
    }
  }
  return detectedIsolation;
}

/** `--permission` (Node 22.13+, 23.5+) or `--experimental-permission` (Node 20, early 22). */
function permissionFlag(nodePath: string): string {
  const known = permissionFlags.get(nodePath);
  if (known) return known;
  const stable = spawnSync(nodePath, ['--permission', '-e', '0'], {
    env: {},
    stdio: 'ignore',
    timeout: 5_000,
  });
  const flag = stable.status === 0 ? '--permission' : '--experimental-permission';
  permissionFlags.set(nodePath, flag);
  return flag;
}

// Node follows symbolic links out of an allowed folder, so a plugin folder holding one is refused.
async function refuseSymbolicLinks(plugin: PluginPackage): Promise<void> {
  const pending = [plugin.folder];
  for (let folder = pending.pop(); folder !== undefined; folder = pending.pop()) {
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if ((await lstat(path)).isSymbolicLink()) {
        throw new PluginError('unsupported', `plugin folder holds a symbolic link: ${path}`, {
          pluginId: plugin.manifest.id,
        });
      }
      if (entry.isDirectory()) pending.push(path);
    }
  }
}

/**
 * The node command line for a plugin, isolation prefix first: Node's permission model with only the plugin's
 * folder readable (nothing writable, no child processes, no workers, no WASI, no addons) and the heap limited.
 */
export function processRuntimeCommand(
  plugin: PluginPackage,
  options: { nodePath: string; isolation: NetworkIsolation },
): string[] {
  return [
    ...(options.isolation?.prefix ?? []),
    options.nodePath,
    permissionFlag(options.nodePath),
    `--allow-fs-read=${plugin.folder}`,
    '--no-addons',
    `--max-old-space-size=${plugin.manifest.limits.memoryMb}`,
    '--disable-warning=ExperimentalWarning',
    plugin.entryPath,
  ];
}

/**
 * Runs plugins as child processes of Kaiwa under Node's permission model, with an empty environment, and in a
 * network namespace of their own (so no network at all, whatever the manifest declares: declared outbound hosts
 * are reached through Kaiwa's `http.fetch`) where `unshare` works. What it does not isolate: CPU
 * time (a busy plugin is caught by deadlines, not throttled), memory outside the V8 heap (buffers), and, with
 * `acceptUnisolatedNetwork`, the network.
 *
 * @example
 * const runtime = createProcessRuntime();
 * const host = new PluginHost({ ports, runtime, engineVersion: '0.1.0' });
 */
export function createProcessRuntime(config: ProcessRuntimeConfig = {}): PluginRuntime {
  const nodePath = config.nodePath ?? process.execPath;
  return {
    name: 'process',
    async launch(plugin) {
      const pluginId = plugin.manifest.id;
      // Declared outbound hosts need no network here: the plugin's HTTP goes through Kaiwa (`http.fetch`).
      const isolation = config.networkIsolation === 'none' ? undefined : detectNetworkIsolation();
      if (!isolation && !config.acceptUnisolatedNetwork) {
        throw new PluginError(
          'network_isolation_unavailable',
          `cannot start plugin "${pluginId}" without network isolation: unshare is missing or not permitted here. Run Kaiwa where "unshare --net" works (root, or unprivileged user namespaces), or set acceptUnisolatedNetwork: true to accept that plugins reach the network`,
          { pluginId },
        );
      }
      await refuseSymbolicLinks(plugin);
      const [command, ...args] = processRuntimeCommand(plugin, { nodePath, isolation });
      const child = spawn(command as string, args, {
        cwd: plugin.folder,
        env: {},
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      const exited = new Promise<PluginExit>((resolve) => {
        child.once('exit', (code, signal) => resolve({ code, signal }));
        child.once('error', () => resolve({ code: null, signal: null }));
      });
      // Writes to a plugin that died are reported by `exited`, not as unhandled stream errors.
      child.stdin.on('error', () => {});
      return {
        pid: child.pid,
        stdin: child.stdin,
        stdout: child.stdout,
        stderr: child.stderr,
        kill: () => {
          child.kill('SIGKILL');
        },
        exited,
      };
    },
  };
}
