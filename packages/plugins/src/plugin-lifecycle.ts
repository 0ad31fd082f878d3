import { randomUUID } from 'node:crypto';
import { lstat, realpath, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type {
  JsonValue,
  PluginInstallation,
  PluginInstallationStore,
  PluginJobRunStore,
  PluginKeyValueStore,
  PluginSettingsStore,
} from '@kaiwa/core';
import semver from 'semver';
import { PluginError } from './errors.js';
import type { PluginManifest, PluginPackage } from './manifest.js';
import { type PluginTarballLimits, unpackPluginTarball } from './package-installer.js';
import type { PluginHost } from './plugin-host.js';
import type { PluginSupervisor } from './plugin-supervisor.js';

export interface PluginLifecycleConfig {
  host: PluginHost;
  /** The plugin folder (KAIWA_PLUGIN_DIR): each plugin in `<directory>/<id>`. */
  directory: string;
  installations: PluginInstallationStore;
  /** Plugins' key-value storage, cleared by an uninstall without `keepData`. */
  storage: PluginKeyValueStore;
  /** Plugins' job runs, cleared by an uninstall without `keepData`. */
  jobRuns: PluginJobRunStore;
  /** The settings admins saved, cleared by an uninstall without `keepData`. */
  settings?: Pick<PluginSettingsStore, 'clear'>;
  /** This Kaiwa's version, checked against each manifest's `engines.kaiwa`. */
  engineVersion: string;
  limits?: PluginTarballLimits;
  /**
   * How long an upgraded version must stay up after its migration before the health check that decides the
   * upgrade (a version that crashes or hangs soon after starting is rolled back too). Default 1000 ms.
   */
  healthSettleMs?: number;
  /**
   * Adds a plugin folder to the host; by default `host.add(folder)`. The server's adds the settings admins
   * saved for the plugin.
   */
  add?(folder: string): Promise<PluginSupervisor>;
  clock?: () => Date;
}

/** A tarball as an admin uploaded it, with the SHA-256 they say it has. */
export interface PluginTarballInput {
  file: string;
  sha256: string;
  /** Called after the plugin is added and before it starts (its bot user, say); a throw undoes the install. */
  beforeStart?(manifest: PluginManifest): Promise<void>;
}

/** Where an upgrade failed: starting the new version, its migration hook, or the health check after it. */
export type PluginUpgradeStage = 'start' | 'migrate' | 'health';

/**
 * An upgrade that failed and was rolled back: the old version's folder is back and it runs again (when it ran
 * before). `stage` and `reason` say what failed; `restoreError` is set when putting the old one back failed too.
 */
export class PluginUpgradeRolledBackError extends PluginError {
  readonly stage: PluginUpgradeStage;
  readonly reason: string;
  readonly failedVersion: string;
  readonly restoredVersion: string;
  readonly restoreError: string | undefined;

  constructor(input: {
    pluginId: string;
    stage: PluginUpgradeStage;
    reason: string;
    failedVersion: string;
    restoredVersion: string;
    restoreError?: string;
    cause: unknown;
  }) {
    super(
      'rolled_back',
      `plugin "${input.pluginId}" ${input.failedVersion} failed its ${input.stage === 'health' ? 'health check' : input.stage === 'migrate' ? 'migration' : 'start'} (${input.reason}); rolled back to ${input.restoredVersion}${input.restoreError ? `, which did not start again either: ${input.restoreError}` : ''}`,
      {
        pluginId: input.pluginId,
        cause: input.cause,
        issues: [{ path: [input.stage], message: input.reason }],
      },
    );
    this.stage = input.stage;
    this.reason = input.reason;
    this.failedVersion = input.failedVersion;
    this.restoredVersion = input.restoredVersion;
    this.restoreError = input.restoreError;
  }
}

const exists = (path: string) =>
  lstat(path).then(
    () => true,
    () => false,
  );
const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error)).slice(0, 500);

/**
 * Installs, upgrades and uninstalls plugins in the plugin folder, with their state in the database
 * (`PluginInstallationStore`). One action at a time. Guarantees: a tarball is checked in full (checksum,
 * entries, manifest) in a staging folder inside the plugin folder before anything installed changes, and
 * placed with one `rename`; an install whose plugin does not start is undone; an upgrade keeps the old
 * folder as `.backup-<id>` and, when the new version fails to start, to migrate or its health check, stops
 * it and puts the old folder and version back ({@link PluginUpgradeRolledBackError}). Folders starting with a
 * dot are not plugins (the server skips them).
 *
 * @example
 * const lifecycle = new PluginLifecycle({ host, directory, installations, storage, jobRuns, engineVersion: '0.1.0' });
 * await lifecycle.install({ file: '/tmp/upload.tgz', sha256 });
 * await lifecycle.upgrade('hello', { file: '/tmp/hello-2.tgz', sha256: sha256b });
 */
export class PluginLifecycle {
  readonly #config: PluginLifecycleConfig;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(config: PluginLifecycleConfig) {
    this.#config = config;
  }

  /**
   * Records the plugins the host loaded from the folder that the database does not know yet (placed by hand:
   * enabled, no checksum) and a version changed by hand; returns which are enabled.
   */
  async reconcile(): Promise<{ enabled: Set<string>; recordedWithoutFolder: string[] }> {
    const { host, installations } = this.#config;
    const enabled = new Set<string>();
    const loaded = host.list();
    for (const plugin of loaded) {
      const row = await installations.get(plugin.id);
      if (!row) {
        const at = this.#now();
        await installations.add({
          pluginId: plugin.id,
          version: plugin.version,
          enabled: true,
          sha256: null,
          installedAt: at,
          updatedAt: at,
        });
        enabled.add(plugin.id);
        continue;
      }
      if (row.version !== plugin.version) {
        await installations.update(plugin.id, { version: plugin.version, updatedAt: this.#now() });
      }
      if (row.enabled) enabled.add(plugin.id);
    }
    const ids = new Set(loaded.map((plugin) => plugin.id));
    const recordedWithoutFolder = (await installations.list())
      .map((row) => row.pluginId)
      .filter((id) => !ids.has(id));
    return { enabled, recordedWithoutFolder };
  }

  /** Records an admin's start or stop, so the plugin is started (or not) at the next server start. */
  setEnabled(pluginId: string, enabled: boolean): Promise<void> {
    return this.#serial(async () => {
      const { host, installations } = this.#config;
      const at = this.#now();
      if (await installations.update(pluginId, { enabled, updatedAt: at })) return;
      const plugin = host.get(pluginId);
      if (!plugin) return;
      await installations.add({
        pluginId,
        version: plugin.plugin.manifest.version,
        enabled,
        sha256: null,
        installedAt: at,
        updatedAt: at,
      });
    });
  }

  /**
   * Installs a plugin from a tarball and starts it.
   *
   * @throws PluginError `checksum_mismatch`, `invalid_package`, `invalid_manifest`, `incompatible_engine`,
   *   `already_installed` (upgrade it instead), or the start's error (`start_failed`, …) after undoing.
   */
  install(input: PluginTarballInput): Promise<PluginInstallation> {
    return this.#serial(async () => {
      const { host, installations, directory } = this.#config;
      const staged = await this.#stage(input);
      const pluginId = staged.manifest.id;
      const target = join(directory, pluginId);
      try {
        if (host.get(pluginId) || (await exists(target)) || (await installations.get(pluginId))) {
          throw alreadyInstalled(pluginId);
        }
        await rename(staged.folder, target);
      } catch (error) {
        await rm(staged.folder, { recursive: true, force: true });
        throw error;
      }
      const at = this.#now();
      const installation: PluginInstallation = {
        pluginId,
        version: staged.manifest.version,
        enabled: true,
        sha256: input.sha256.trim().toLowerCase(),
        installedAt: at,
        updatedAt: at,
      };
      if (!(await installations.add(installation))) {
        await rm(target, { recursive: true, force: true });
        throw alreadyInstalled(pluginId);
      }
      try {
        await this.#add(target);
        await input.beforeStart?.(staged.manifest);
        await host.start(pluginId);
      } catch (error) {
        await host.remove(pluginId);
        await rm(target, { recursive: true, force: true });
        await installations.remove(pluginId);
        throw error;
      }
      return installation;
    });
  }

  /**
   * Upgrades a plugin to a tarball's higher version: the new one starts, migrates (its `migrate` hook, with
   * `{ fromVersion, toVersion }`) and must still run and answer a health check `healthSettleMs` later;
   * otherwise it is rolled back: the old folder, and the plugin's storage as it was before the new version
   * started (what a failed migration wrote is undone). A plugin an
   * admin stopped is stopped again after a good upgrade.
   *
   * @throws PluginError `not_found`, `checksum_mismatch`, `invalid_package`, `invalid_manifest` (also for
   *   another plugin's id), `incompatible_engine`, `not_an_upgrade`; {@link PluginUpgradeRolledBackError}.
   */
  upgrade(
    pluginId: string,
    input: PluginTarballInput,
  ): Promise<{
    fromVersion: string;
    toVersion: string;
    migrated: boolean;
    installation: PluginInstallation;
  }> {
    return this.#serial(async () => {
      const { host, installations, directory } = this.#config;
      const current = host.get(pluginId);
      if (!current) throw new PluginError('not_found', `no plugin "${pluginId}"`, { pluginId });
      const fromVersion = current.plugin.manifest.version;
      const staged = await this.#stage(input);
      const toVersion = staged.manifest.version;
      try {
        if (staged.manifest.id !== pluginId) {
          throw new PluginError(
            'invalid_manifest',
            `the tarball holds plugin "${staged.manifest.id}", not "${pluginId}"`,
            {
              pluginId,
              issues: [{ path: ['id'], message: `is "${staged.manifest.id}"; this upgrades "${pluginId}"` }],
            },
          );
        }
        if (!semver.gt(toVersion, fromVersion)) {
          throw new PluginError(
            'not_an_upgrade',
            `plugin "${pluginId}" ${toVersion} is not newer than the installed ${fromVersion}`,
            { pluginId, issues: [{ path: ['version'], message: `must be higher than ${fromVersion}` }] },
          );
        }
      } catch (error) {
        await rm(staged.folder, { recursive: true, force: true });
        throw error;
      }
      const wasEnabled = (await installations.get(pluginId))?.enabled ?? current.state !== 'stopped';
      const target = await this.#folderOf(current.plugin);
      const backup = join(directory, `.backup-${pluginId}`);
      await host.remove(pluginId);
      // Taken once the old version has stopped writing: a rollback puts the storage back as it was.
      const storageBefore = await this.#snapshotStorage(pluginId);
      await rm(backup, { recursive: true, force: true });
      await rename(target, backup);
      await rename(staged.folder, target);
      let stage: PluginUpgradeStage = 'start';
      let migrated = false;
      try {
        const plugin = await this.#add(target);
        await input.beforeStart?.(staged.manifest);
        await plugin.start();
        stage = 'migrate';
        migrated = await plugin.migrate(fromVersion, toVersion);
        stage = 'health';
        await new Promise((resolve) => setTimeout(resolve, this.#config.healthSettleMs ?? 1000));
        await plugin.ping();
      } catch (error) {
        await host.remove(pluginId).catch(() => {});
        await rm(target, { recursive: true, force: true });
        await rename(backup, target);
        let restoreError: string | undefined;
        try {
          await this.#restoreStorage(pluginId, storageBefore);
        } catch (caught) {
          restoreError = `its storage could not be put back: ${messageOf(caught)}`;
        }
        try {
          const restored = await this.#add(target);
          if (wasEnabled) await restored.start();
        } catch (caught) {
          restoreError = restoreError ? `${restoreError}; ${messageOf(caught)}` : messageOf(caught);
        }
        throw new PluginUpgradeRolledBackError({
          pluginId,
          stage,
          reason: messageOf(error),
          failedVersion: toVersion,
          restoredVersion: fromVersion,
          ...(restoreError ? { restoreError } : {}),
          cause: error,
        });
      }
      if (!wasEnabled) await host.stop(pluginId);
      const at = this.#now();
      const patch = { version: toVersion, sha256: input.sha256.trim().toLowerCase(), updatedAt: at };
      let installation = await installations.update(pluginId, patch);
      if (!installation) {
        installation = { pluginId, enabled: wasEnabled, installedAt: at, ...patch };
        await installations.add(installation);
      }
      return { fromVersion, toVersion, migrated, installation };
    });
  }

  /** Every key and value of the plugin's storage (bounded by its quota), read while no version runs. */
  async #snapshotStorage(pluginId: string): Promise<Map<string, JsonValue>> {
    const { storage } = this.#config;
    const snapshot = new Map<string, JsonValue>();
    for (const key of await storage.list(pluginId)) {
      const value = await storage.get(pluginId, key);
      if (value !== undefined) snapshot.set(key, value);
    }
    return snapshot;
  }

  /** Puts the plugin's storage back to `snapshot`: what a failed migration wrote or deleted is undone. */
  async #restoreStorage(pluginId: string, snapshot: ReadonlyMap<string, JsonValue>): Promise<void> {
    const { storage } = this.#config;
    await storage.clear(pluginId);
    // The snapshot fitted the quota when it was taken; the quota is not the point of a restore.
    for (const [key, value] of snapshot) {
      await storage.set(pluginId, key, value, { quotaBytes: Number.MAX_SAFE_INTEGER });
    }
  }

  /**
   * Stops a plugin and removes its folder (and its backup); without `keepData`, its key-value storage and job
   * runs and saved settings are deleted too. Its installation record goes either way.
   *
   * @throws PluginError `not_found` for a plugin neither loaded here nor recorded.
   */
  uninstall(pluginId: string, options: { keepData: boolean }): Promise<{ version: string | undefined }> {
    return this.#serial(async () => {
      const { host, installations, directory, storage, jobRuns } = this.#config;
      const plugin = host.get(pluginId);
      const row = await installations.get(pluginId);
      if (!plugin && !row) throw new PluginError('not_found', `no plugin "${pluginId}"`, { pluginId });
      const version = plugin?.plugin.manifest.version ?? row?.version;
      if (plugin) {
        const folder = await this.#folderOf(plugin.plugin);
        await host.remove(pluginId);
        await rm(folder, { recursive: true, force: true });
      }
      await rm(join(directory, `.backup-${pluginId}`), { recursive: true, force: true });
      if (!options.keepData) {
        await storage.clear(pluginId);
        await jobRuns.clear(pluginId);
        await this.#config.settings?.clear(pluginId);
      }
      await installations.remove(pluginId);
      return { version };
    });
  }

  /** A loaded plugin's folder, which must sit right in the plugin folder (never something elsewhere). */
  async #folderOf(plugin: PluginPackage): Promise<string> {
    const directory = await realpath(this.#config.directory);
    if (dirname(plugin.folder) !== directory) {
      throw new PluginError('unsupported', `plugin folder ${plugin.folder} is not in ${directory}`, {
        pluginId: plugin.manifest.id,
      });
    }
    return plugin.folder;
  }

  /** Unpacks and checks a tarball in a staging folder inside the plugin folder (so `rename` places it). */
  async #stage(input: PluginTarballInput): Promise<PluginPackage> {
    const staging = join(this.#config.directory, `.staging-${randomUUID()}`);
    try {
      return await unpackPluginTarball({
        ...this.#config.limits,
        file: input.file,
        sha256: input.sha256,
        destination: staging,
        engineVersion: this.#config.engineVersion,
      });
    } catch (error) {
      await rm(staging, { recursive: true, force: true });
      throw error;
    }
  }

  #add(folder: string): Promise<PluginSupervisor> {
    return this.#config.add ? this.#config.add(folder) : this.#config.host.add(folder);
  }

  #now(): string {
    return (this.#config.clock?.() ?? new Date()).toISOString();
  }

  #serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(work, work);
    this.#queue = run.catch(() => {});
    return run;
  }
}

function alreadyInstalled(pluginId: string): PluginError {
  return new PluginError(
    'already_installed',
    `a plugin "${pluginId}" is installed already; upgrade it with POST /api/v1/plugins/${pluginId}/upgrade`,
    { pluginId, issues: [{ path: ['id'], message: 'already installed' }] },
  );
}
