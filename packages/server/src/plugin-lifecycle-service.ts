import type {
  ChatEngine,
  PluginInstallation,
  PluginInstallationStorage,
  PluginInstallationStore,
  User,
} from '@kaiwa/core';
import type { PluginLifecycle, PluginManifest } from '@kaiwa/plugins';
import type { FastifyBaseLogger } from 'fastify';

/** A tarball an admin uploaded, on disk, with the SHA-256 they gave. */
/** How an install, upgrade or uninstall ended: the plugin it changed when it succeeded. */
export interface PluginLifecycleChange {
  pluginId?: string;
  succeeded: boolean;
}

export interface UploadedTarball {
  file: string;
  sha256: string;
}

/**
 * The lifecycle of plugins as admins drive it over REST: install, upgrade and uninstall through
 * `PluginLifecycle` (the folder, the host and the `plugin_installations` rows), plus what the server adds — each
 * plugin's bot user (created, or reactivated, before the plugin starts; deactivated at uninstall) and the
 * admins' start/stop choice, honoured when the server starts. Scheduled jobs and workflow step types of a
 * plugin installed or upgraded while the server runs take effect at the next restart (they are armed and
 * registered at start); slash commands, HTTP routes and message events at once.
 */
export class PluginLifecycleService {
  readonly #lifecycle: PluginLifecycle;
  readonly #engine: ChatEngine;
  readonly #botUsers: Map<string, User>;
  readonly #logger: FastifyBaseLogger;
  readonly #ensureBot: (pluginId: string, name: string) => Promise<User>;
  readonly #onChange: (change: PluginLifecycleChange) => void;

  constructor(config: {
    lifecycle: PluginLifecycle;
    engine: ChatEngine;
    botUsers: Map<string, User>;
    logger: FastifyBaseLogger;
    /** Finds or creates the plugin's bot user `plugin-<id>`. */
    ensureBot(pluginId: string, name: string): Promise<User>;
    /** After an install, upgrade (or its rollback) or uninstall, whether it succeeded or not. */
    onChange?(change: PluginLifecycleChange): void;
  }) {
    this.#onChange = config.onChange ?? (() => {});
    this.#ensureBot = config.ensureBot;
    this.#lifecycle = config.lifecycle;
    this.#engine = config.engine;
    this.#botUsers = config.botUsers;
    this.#logger = config.logger;
  }

  /**
   * Which loaded plugins to start: those whose admins did not stop them. Plugins found in the folder that the
   * database does not know are recorded (enabled); a failure to read the records starts every plugin.
   */
  async enabledAtStart(pluginIds: string[]): Promise<Set<string>> {
    try {
      const { enabled, recordedWithoutFolder } = await this.#lifecycle.reconcile();
      if (recordedWithoutFolder.length > 0) {
        this.#logger.warn(
          { pluginIds: recordedWithoutFolder },
          'plugins: installed according to the database but not in this instance’s KAIWA_PLUGIN_DIR (see docs/configuration.md, Plugins, several instances)',
        );
      }
      return enabled;
    } catch (error) {
      this.#logger.error({ err: error }, 'plugins: could not read the installed plugins; starting every one');
      return new Set(pluginIds);
    }
  }

  /** Records an admin's start or stop (a failure is logged: the plugin did start or stop). */
  async recordEnabled(pluginId: string, enabled: boolean): Promise<void> {
    await this.#lifecycle.setEnabled(pluginId, enabled).catch((error: unknown) => {
      this.#logger.error({ err: error, pluginId, enabled }, 'plugins: could not record a start or stop');
    });
  }

  /** @throws PluginError, see `PluginLifecycle.install`. */
  install(actorId: string, tarball: UploadedTarball): Promise<PluginInstallation> {
    return this.#reporting(
      this.#lifecycle.install({
        ...tarball,
        beforeStart: (manifest) => this.#botFor(actorId, manifest),
      }),
      (installed) => installed.pluginId,
    );
  }

  /** @throws PluginError, see `PluginLifecycle.upgrade` (`PluginUpgradeRolledBackError` when rolled back). */
  upgrade(
    actorId: string,
    pluginId: string,
    tarball: UploadedTarball,
  ): Promise<{
    fromVersion: string;
    toVersion: string;
    migrated: boolean;
    installation: PluginInstallation;
  }> {
    return this.#reporting(
      this.#lifecycle.upgrade(pluginId, {
        ...tarball,
        beforeStart: (manifest) => this.#botFor(actorId, manifest),
      }),
      () => pluginId,
    );
  }

  /**
   * Uninstalls a plugin (its data too, unless `keepData`) and deactivates its bot user, whose messages stay.
   *
   * @throws PluginError `not_found`.
   */
  async uninstall(
    actorId: string,
    pluginId: string,
    keepData: boolean,
  ): Promise<{ version: string | undefined }> {
    const result = await this.#reporting(this.#lifecycle.uninstall(pluginId, { keepData }), () => pluginId);
    const bot = this.#botUsers.get(pluginId);
    this.#botUsers.delete(pluginId);
    if (bot) {
      await this.#engine.deactivateUser(actorId, bot.id).catch((error: unknown) => {
        this.#logger.error(
          { err: error, pluginId },
          'plugins: could not deactivate an uninstalled plugin’s bot user',
        );
      });
    }
    return result;
  }

  /** The plugin's bot user, created or reactivated (a plugin installed again after an uninstall). */
  /** Tells `onChange` how a lifecycle action ended; passes its outcome on. */
  async #reporting<T>(action: Promise<T>, pluginIdOf: (result: T) => string): Promise<T> {
    let result: T;
    try {
      result = await action;
    } catch (error) {
      this.#onChange({ succeeded: false });
      throw error;
    }
    this.#onChange({ pluginId: pluginIdOf(result), succeeded: true });
    return result;
  }

  async #botFor(actorId: string, manifest: PluginManifest): Promise<void> {
    let bot = await this.#ensureBot(manifest.id, manifest.name ?? manifest.id);
    if (bot.deactivatedAt) bot = await this.#engine.reactivateUser(actorId, bot.id);
    this.#botUsers.set(manifest.id, bot);
  }
}

/** The plugins module's installation records of a store that has one (`@kaiwa/store-kysely`'s do). */
export function pluginInstallationsOf(store: object): PluginInstallationStore | undefined {
  const installations = (store as Partial<PluginInstallationStorage>).pluginInstallations;
  return installations && typeof installations.add === 'function' ? installations : undefined;
}

/** Installation records in memory, for a store without the plugins module (one instance, forgotten at restart). */
export function memoryInstallations(
  plugins: typeof import('@kaiwa/plugins'),
  logger: FastifyBaseLogger,
): PluginInstallationStore {
  logger.warn(
    'plugins: the store has no plugin installations (the plugins module); which plugins admins stopped is kept ' +
      'in memory, so every plugin starts again at restart',
  );
  return plugins.createMemoryPluginInstallationStore();
}
