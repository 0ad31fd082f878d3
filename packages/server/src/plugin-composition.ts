import { randomUUID } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import {
  type ChatEngine,
  ForbiddenError,
  type Message,
  NotFoundError,
  type PluginInstallationStore,
  type PluginJobRun,
  type PluginJobRunStore,
  type PluginJobStorage,
  type PluginKeyValueStore,
  type PluginSettingsStorage,
  type PluginSettingsStore,
  type PluginSettingValues,
  type PluginStorage,
  type User,
} from '@kaiwa/core';
import type {
  CheckedHttpResponse,
  PluginCommand,
  PluginEvent,
  PluginHost,
  PluginHostPorts,
  PluginHttpInput,
  PluginJobEvent,
  PluginJobScheduler,
  PluginState,
  PluginSupervisor,
  SettingDefinition,
} from '@kaiwa/plugins';
import type { StepType } from '@kaiwa/workflow';
import type { FastifyBaseLogger } from 'fastify';
import { z } from 'zod';
import type { PluginSettings } from './config.js';
import {
  memoryInstallations,
  type PluginLifecycleChange,
  PluginLifecycleService,
} from './plugin-lifecycle-service.js';

/*
 * `@kaiwa/plugins` is imported only when KAIWA_PLUGIN_DIR is set: a server without plugins never loads it
 * (lazy-dependencies.test.ts checks).
 */

/** This server's version, checked against each plugin manifest's `engines.kaiwa` range. */
const ENGINE_VERSION = '0.1.0';

export interface PluginCompositionConfig {
  engine: ChatEngine;
  settings: PluginSettings | undefined;
  logger: FastifyBaseLogger;
  /**
   * Plugins' key-value storage: the server's database (`pluginStorageOf(store)`), so it survives restarts and
   * every instance shares it. Without one, plugins' storage is kept in memory (and a warning logged).
   */
  storage?: PluginKeyValueStore | undefined;
  /**
   * Where plugins' scheduled job slots are claimed: the server's database (`pluginJobRunsOf(store)`), so each
   * slot runs on one instance. Without one, claims are kept in memory (one instance only; a warning is logged).
   */
  jobRuns?: PluginJobRunStore | undefined;
  /**
   * Plugins' settings as admins saved them: the server's database (`pluginSettingsOf(store)`), so they survive
   * restarts. Without one, they are kept in memory (and a warning logged).
   */
  settingsStore?: PluginSettingsStore | undefined;
  /**
   * The installed plugins and whether admins stopped them: the server's database
   * (`pluginInstallationsOf(store)`), so a stopped plugin stays stopped after a restart. Without one, kept in
   * memory (and a warning logged).
   */
  installations?: PluginInstallationStore | undefined;
}

/** One setting as the plugin's manifest declares it, for the admin's form; a secret's default is not shown. */
export type PluginSettingDefinitionView = { key: string; secret: boolean } & WithoutSecret<SettingDefinition>;

/** Each kind of setting without its `secret` flag (`Omit` distributed over the union). */
type WithoutSecret<T> = T extends unknown ? Omit<T, 'secret'> : never;

/** A plugin's settings schema and the values it runs with, as admins see them. */
export interface PluginSettingsView {
  pluginId: string;
  /** In the manifest's order. */
  definitions: PluginSettingDefinitionView[];
  /** What the plugin gets: the saved value, else the default; secret settings are never answered. */
  values: PluginSettingValues;
  /** Secret settings with a saved (non-empty) value. */
  secretsSet: string[];
  /** When and by whom they were last saved; null while the plugin runs with its defaults. */
  updatedAt: string | null;
  updatedBy: string | null;
  state: PluginState;
}

/** What admins see of a plugin. */
export interface PluginSummary {
  id: string;
  version: string;
  state: PluginState;
  botUsername: string;
  /** The last problem reported (crash, refusal, timeout), if any since it started. */
  lastProblem: { type: string; detail: string; at: string } | null;
}

/**
 * Plugins in the server: every folder under KAIWA_PLUGIN_DIR is a plugin (its manifest checked, its entry run
 * in the sandboxed process runtime, or in a container where its manifest says `runtime: container`), acting as its own bot user `plugin-<id>` through the engine — the one way
 * into chat data — after the host has checked each call against the manifest. Slash commands run through
 * `POST /api/v1/rooms/{roomId}/commands`; declared HTTP routes are served at `/plugins/<id>/…`; new messages are handed to plugins that listen without delivery
 * waiting for them. Scheduled jobs run at their slots (5-field cron, UTC) on the one instance that claims each
 * slot in the database; slots that pass while no instance is up are not run later. A plugin that fails to start is reported and left stopped; the server starts regardless.
 */
export class PluginService {
  readonly #config: PluginCompositionConfig;
  readonly #host: PluginHost;
  readonly #botUsers: Map<string, User>;
  readonly #problems = new Map<string, PluginSummary['lastProblem']>();
  readonly #declaredSteps: { type: string; description: string }[];
  #registerStepType: ((stepType: StepType) => void) | undefined;
  readonly #scheduler: PluginJobScheduler;
  readonly #jobRuns: PluginJobRunStore;
  readonly #settings: PluginSettingsStore;
  #stopListening: (() => void) | undefined;
  /** Install, upgrade, uninstall, and admins' start/stop choices kept in the database (set by `composePlugins`). */
  lifecycle!: PluginLifecycleService;

  constructor(
    config: PluginCompositionConfig,
    host: PluginHost,
    botUsers: Map<string, User>,
    declaredSteps: { type: string; description: string }[],
    scheduler: PluginJobScheduler,
    jobRuns: PluginJobRunStore,
    settings: PluginSettingsStore,
  ) {
    this.#config = config;
    this.#jobRuns = jobRuns;
    this.#settings = settings;
    this.#host = host;
    this.#botUsers = botUsers;
    this.#declaredSteps = declaredSteps;
    this.#scheduler = scheduler;
  }

  /**
   * Starts every plugin added that no admin stopped (`plugin_installations.enabled`); one that cannot start is
   * reported and left stopped.
   */
  async start(): Promise<void> {
    const loaded = this.#host.list().map((plugin) => plugin.id);
    const enabled = await this.lifecycle.enabledAtStart(loaded);
    for (const id of loaded) {
      if (!enabled.has(id)) {
        this.#config.logger.info({ pluginId: id }, 'plugin: left stopped, as an admin stopped it');
        continue;
      }
      await this.#host.start(id).catch((error: unknown) => {
        this.#note(id, 'start-failed', error instanceof Error ? error.message : String(error));
        this.#config.logger.error({ err: error, pluginId: id }, 'plugin: could not start');
      });
    }
    this.#stopListening = this.#config.engine.subscribe((event) => {
      if (event.type !== 'message.created') return;
      const message = event.payload.message;
      // A plugin's own posts are not news to plugins (no loops between two plugins either); plugins come and go.
      if ([...this.#botUsers.values()].some((bot) => bot.id === message.authorId)) return;
      this.#host.dispatchMessage(toPluginMessage(message));
      void this.#commandInMessage(message).catch((error: unknown) =>
        this.#config.logger.warn({ err: error, messageId: message.id }, 'plugin: a slash command failed'),
      );
    });
    this.#scheduler.start();
  }

  list(): PluginSummary[] {
    return this.#host.list().map((plugin) => ({
      ...plugin,
      botUsername: this.#botUsers.get(plugin.id)?.username ?? `plugin-${plugin.id}`,
      lastProblem: this.#problems.get(plugin.id) ?? null,
    }));
  }

  commands(): PluginCommand[] {
    return this.#host.commands();
  }

  /**
   * An installed plugin's scheduled job runs, latest slot first (of one job, when named), as the instances
   * recorded them; undefined for a plugin that is not installed here.
   *
   * @example
   * const runs = await plugins.jobRuns('hello', { job: 'daily-tally', limit: 20 });
   */
  async jobRuns(
    pluginId: string,
    options: { job?: string; limit?: number } = {},
  ): Promise<PluginJobRun[] | undefined> {
    if (!this.#host.list().some((plugin) => plugin.id === pluginId)) return undefined;
    return this.#jobRuns.list(pluginId, options);
  }

  /**
   * An installed plugin's settings schema and current values (secrets left out); undefined for a plugin that is
   * not installed here.
   *
   * @example const view = await plugins.settingsOf('hello'); // view.values.greeting === 'Hello'
   */
  async settingsOf(pluginId: string): Promise<PluginSettingsView | undefined> {
    const plugin = this.#host.get(pluginId);
    if (!plugin) return undefined;
    return settingsView(
      plugin.plugin.manifest.settings,
      plugin.state,
      pluginId,
      await this.#settings.get(pluginId),
    );
  }

  /**
   * Saves an admin's settings for a plugin and restarts it with them if it runs; a secret setting left out keeps
   * its saved value. Answers the new view and the keys whose saved value changed. A plugin that does not come
   * back with them keeps them and is reported like any failed start (`lastProblem`, state `failed`).
   *
   * @throws PluginError `not_found` for a plugin not installed here, `invalid_settings` naming every bad key
   *   (nothing is saved then).
   */
  async configure(
    pluginId: string,
    values: PluginSettingValues,
    actorId: string | null,
  ): Promise<{ view: PluginSettingsView; changed: string[] }> {
    const definitions = this.#host.get(pluginId)?.plugin.manifest.settings ?? {};
    const previous = await this.#settings.get(pluginId);
    const saved: PluginSettingValues = { ...values };
    for (const [key, definition] of Object.entries(definitions)) {
      const kept = previous?.values[key];
      if (definition.type === 'string' && definition.secret && !(key in saved) && kept !== undefined) {
        saved[key] = kept;
      }
    }
    this.#host.resolveSettings(pluginId, saved);
    const stored = await this.#settings.put(pluginId, saved, {
      updatedAt: new Date().toISOString(),
      updatedBy: actorId,
    });
    const keys = new Set([...Object.keys(previous?.values ?? {}), ...Object.keys(saved)]);
    const changed = [...keys].filter((key) => previous?.values[key] !== saved[key]).sort();
    // The restart's own stop is no problem: what it leaves is (none when it came back).
    await this.#host.configure(pluginId, saved).then(
      () => {
        if (this.#host.get(pluginId)?.state === 'running') this.#problems.delete(pluginId);
      },
      (error: unknown) => {
        this.#note(pluginId, 'start-failed', error instanceof Error ? error.message : String(error));
        this.#config.logger.error(
          { err: error, pluginId },
          'plugin: did not start again with its new settings',
        );
      },
    );
    const plugin = this.#host.get(pluginId);
    return { view: settingsView(definitions, plugin?.state ?? 'stopped', pluginId, stored), changed };
  }

  /**
   * The workflow step types the installed plugins declare, for the workflow engine: each runs in its plugin
   * (a plugin that is stopped or lacks the type fails the step with a retryable error, so the run waits and
   * tries again with the workflow's retry policy).
   */
  stepTypes(): StepType[] {
    return this.#declaredSteps.map((declared) => this.#stepType(declared));
  }

  /**
   * Registers, through `register`, the step types of plugins installed or upgraded while the server runs (those
   * of the plugins there at start are in `stepTypes()`). An uninstalled plugin's types stay registered and fail
   * with a retryable error, as a stopped plugin's do.
   */
  followStepTypes(register: (stepType: StepType) => void): void {
    this.#registerStepType = register;
  }

  /**
   * After an install, upgrade or uninstall: jobs armed or cleared, new step types registered, and the problems
   * of the version that went away forgotten.
   */
  afterLifecycleChange(change: PluginLifecycleChange): void {
    if (change.succeeded && change.pluginId) this.#problems.delete(change.pluginId);
    this.#scheduler.sync();
    const known = new Set(this.#declaredSteps.map(({ type }) => type));
    for (const { id } of this.#host.list()) {
      for (const declared of this.#host.get(id)?.plugin.manifest.capabilities.workflowSteps ?? []) {
        if (known.has(declared.type)) continue;
        known.add(declared.type);
        this.#declaredSteps.push(declared);
        try {
          this.#registerStepType?.(this.#stepType(declared));
        } catch (error) {
          this.#config.logger.error(
            { err: error, type: declared.type },
            'plugin: could not register a step type',
          );
        }
      }
    }
  }

  #stepType({ type, description }: { type: string; description: string }): StepType {
    return {
      type,
      description,
      input: z.json(),
      retryable: (error: unknown) =>
        typeof error === 'object' &&
        error !== null &&
        (error as { isRetryable?: boolean }).isRetryable === true,
      run: (input, context) => this.#host.runStep({ type, input: input as never, runId: context.runId }),
    };
  }

  /**
   * The declared route of a plugin that a request lands on (`path` under `/plugins/<id>`, percent-encoded):
   * whether it is public, and whether the plugin runs now; `undefined` for an unknown plugin or an undeclared
   * method and path.
   */
  findHttpRoute(
    pluginId: string,
    method: string,
    path: string,
  ): { public: boolean; running: boolean } | undefined {
    const match = this.#host.findHttpRoute(pluginId, method, path);
    if (!match) return undefined;
    const running = this.#host.list().some((plugin) => plugin.id === pluginId && plugin.state === 'running');
    return { public: match.route.public, running };
  }

  /**
   * Serves an HTTP request to a plugin's declared route and returns its checked answer.
   *
   * @throws PluginError `not_found`, `not_running`, `timeout`, `plugin_failed` or `invalid_response`.
   */
  serveHttp(input: PluginHttpInput): Promise<CheckedHttpResponse> {
    return this.#host.serveHttp(input);
  }

  /** Starts a plugin and records that an admin wants it running (also after a restart). */
  async startPlugin(pluginId: string): Promise<void> {
    this.#problems.delete(pluginId);
    if (!this.#host.get(pluginId)) return this.#host.start(pluginId); // not_found
    await this.lifecycle.recordEnabled(pluginId, true);
    await this.#host.start(pluginId);
  }

  /** Stops a plugin and records that an admin wants it stopped (also after a restart). */
  async stopPlugin(pluginId: string): Promise<void> {
    await this.#host.stop(pluginId);
    await this.lifecycle.recordEnabled(pluginId, false);
  }

  /**
   * Runs a slash command for `userId` in a room they may post in; the plugin's reply is posted there by its bot
   * user (joining a public channel first, as the assistant does).
   *
   * @throws ForbiddenError when the user cannot post in the room; PluginError when no running plugin has the
   * command or it fails or times out.
   */
  async runCommand(input: {
    userId: string;
    roomId: string;
    command: string;
    args: string;
    threadRootId?: string;
  }): Promise<{ reply?: string; messageId?: string }> {
    const { engine } = this.#config;
    const room = await engine.getRoom(input.userId, input.roomId);
    const membership = await engine.findMembership(input.userId, room.id);
    if (!membership) throw new ForbiddenError('run a command', 'join the room first');
    return this.#host.runCommand(input);
  }

  /**
   * A message that is a plugin's slash command (`/hello Ada`, as `/run` starts a workflow) runs it as its
   * author. Of several instances hearing it, the one that claims it first (a room setting only the first
   * insert writes) runs it; the others stay silent.
   */
  async #commandInMessage(message: Message): Promise<void> {
    const match = /^\/([a-z0-9][a-z0-9_-]{0,31})(?:\s+([\s\S]*))?$/.exec(message.text.trim());
    if (!match) return;
    const command = this.#host.commands().find((candidate) => candidate.name === match[1]);
    if (!command) return;
    const bot = this.#botUsers.get(command.pluginId);
    if (!bot) return;
    const claimed = await this.#config.engine
      .claimRoomSetting(bot.id, message.roomId, `claim:${bot.id}:${message.id}`, true)
      .catch(() => false);
    if (!claimed) return;
    await this.#host.runCommand({
      userId: message.authorId,
      roomId: message.roomId,
      command: command.name,
      args: match[2]?.trim() ?? '',
      ...(message.threadRootId ? { threadRootId: message.threadRootId } : {}),
    });
  }

  async close(): Promise<void> {
    this.#stopListening?.();
    // No new slot starts; the runs in flight end within their deadline, before their plugins stop.
    await this.#scheduler.close();
    await this.#host.stopAll();
  }

  /** Logs what came of a scheduled job's slot here; a failed run is also the plugin's last problem. */
  onJobEvent(event: PluginJobEvent): void {
    const { logger } = this.#config;
    switch (event.type) {
      case 'job-done':
        logger.debug({ ...event.slot, durationMs: event.durationMs }, 'plugin: scheduled job done');
        return;
      case 'job-failed':
        this.#note(event.slot.pluginId, 'job-failed', `${event.slot.job}: ${event.reason}`);
        logger.warn(
          { ...event.slot, durationMs: event.durationMs, reason: event.reason },
          'plugin: scheduled job failed',
        );
        return;
      case 'job-skipped':
        if (event.reason === 'missed')
          logger.warn({ ...event.slot }, 'plugin: scheduled job slot missed (woke late)');
        if (event.reason === 'still_running')
          logger.warn(
            { ...event.slot },
            'plugin: scheduled job slot skipped (its previous run is still going)',
          );
        return;
      case 'job-store-failed':
        logger.warn(
          { ...event.slot, err: event.error },
          'plugin: could not claim or record a scheduled job run',
        );
        return;
    }
  }

  /** Records a problem for admins (`GET /plugins`). */
  onEvent(event: PluginEvent): void {
    const { logger } = this.#config;
    switch (event.type) {
      case 'started':
        logger.info({ pluginId: event.pluginId, pid: event.pid }, 'plugin: started');
        return;
      case 'log':
        logger[event.level === 'error' ? 'error' : event.level === 'warn' ? 'warn' : 'info'](
          { pluginId: event.pluginId, ...event.fields },
          `plugin ${event.pluginId}: ${event.message}`,
        );
        return;
      case 'exited':
        // A stop asked for (an admin's, an upgrade's, a settings restart's) is no problem.
        if (event.reason === 'stopped') break;
        this.#note(event.pluginId, 'exited', `${event.reason}: ${event.stderr.slice(-300)}`);
        break;
      case 'violation':
        this.#note(event.pluginId, 'violation', `${event.reason}: ${event.detail}`);
        break;
      case 'capability-denied':
        this.#note(event.pluginId, 'capability-denied', event.message);
        break;
      case 'invalid-response':
        this.#note(event.pluginId, 'invalid-response', event.detail);
        break;
      case 'call-timeout':
        this.#note(event.pluginId, 'call-timeout', `${event.method} took over ${event.timeoutMs} ms`);
        break;
      case 'gave-up':
        this.#note(event.pluginId, 'gave-up', `stopped after ${event.attempts} restarts in a row`);
        break;
      case 'start-failed':
        this.#note(event.pluginId, 'start-failed', event.error.message);
        break;
      default:
        break;
    }
    logger.warn({ pluginEvent: event }, `plugin ${event.pluginId}: ${event.type}`);
  }

  #note(pluginId: string, type: string, detail: string): void {
    this.#problems.set(pluginId, { type, detail: detail.slice(0, 500), at: new Date().toISOString() });
  }
}

function toPluginMessage(message: Message) {
  return {
    id: message.id,
    roomId: message.roomId,
    authorId: message.authorId,
    text: message.text,
    ...(message.threadRootId ? { threadRootId: message.threadRootId } : {}),
    createdAt: message.createdAt,
  };
}

/** The plugins module's key-value storage of a store that has one (`@kaiwa/store-kysely`'s do). */
export function pluginStorageOf(store: object): PluginKeyValueStore | undefined {
  const storage = (store as Partial<PluginStorage>).pluginKeyValues;
  return storage && typeof storage.set === 'function' ? storage : undefined;
}

/** The plugins module's job run store of a store that has one (`@kaiwa/store-kysely`'s do). */
export function pluginJobRunsOf(store: object): PluginJobRunStore | undefined {
  const runs = (store as Partial<PluginJobStorage>).pluginJobRuns;
  return runs && typeof runs.claim === 'function' ? runs : undefined;
}

/** The plugins module's settings store of a store that has one (`@kaiwa/store-kysely`'s do). */
export function pluginSettingsOf(store: object): PluginSettingsStore | undefined {
  const settings = (store as Partial<PluginSettingsStorage>).pluginSettings;
  return settings && typeof settings.put === 'function' ? settings : undefined;
}

function settingsView(
  definitions: Record<string, SettingDefinition>,
  state: PluginState,
  pluginId: string,
  stored: { values: PluginSettingValues; updatedAt: string; updatedBy: string | null } | undefined,
): PluginSettingsView {
  const values: PluginSettingValues = {};
  const secretsSet: string[] = [];
  const views: PluginSettingDefinitionView[] = [];
  for (const [key, definition] of Object.entries(definitions)) {
    const secret = definition.type === 'string' && definition.secret;
    const saved = stored?.values[key];
    if (secret) {
      const { default: _hidden, secret: _secret, ...shown } = definition;
      views.push({ key, secret: true, ...shown });
      if (saved !== undefined && saved !== '') secretsSet.push(key);
      continue;
    }
    const { secret: _secret, ...shown } = definition as SettingDefinition & { secret?: boolean };
    views.push({ key, secret: false, ...shown });
    const value = saved ?? definition.default;
    if (value !== undefined) values[key] = value;
  }
  return {
    pluginId,
    definitions: views,
    values,
    secretsSet,
    updatedAt: stored?.updatedAt ?? null,
    updatedBy: stored?.updatedBy ?? null,
    state,
  };
}

/**
 * Adds a plugin folder with the settings admins saved for it. Saved settings its manifest no longer accepts (a
 * new version changed its schema) are logged and left out: the plugin gets its defaults until an admin saves
 * them again.
 */
async function addPlugin(
  plugins: typeof import('@kaiwa/plugins'),
  host: PluginHost,
  folder: string,
  settings: PluginSettingsStore,
  logger: FastifyBaseLogger,
): Promise<PluginSupervisor> {
  const { manifest } = await plugins.loadPluginPackage(folder, { engineVersion: ENGINE_VERSION });
  const saved = await settings.get(manifest.id);
  if (!saved) return host.add(folder);
  try {
    plugins.resolvePluginSettings(manifest, saved.values);
  } catch (error) {
    logger.error(
      { err: error, pluginId: manifest.id },
      'plugin: its saved settings do not fit its manifest; it gets its defaults until an admin saves them again',
    );
    return host.add(folder);
  }
  return host.add(folder, saved.values);
}

function memorySettings(
  plugins: typeof import('@kaiwa/plugins'),
  logger: FastifyBaseLogger,
): PluginSettingsStore {
  logger.warn(
    'plugins: the store has no plugin settings (the plugins module); settings admins save are kept in memory, ' +
      'lost at restart and not shared with other instances',
  );
  return plugins.createMemoryPluginSettingsStore();
}

function memoryJobRuns(
  plugins: typeof import('@kaiwa/plugins'),
  logger: FastifyBaseLogger,
): PluginJobRunStore {
  logger.warn(
    'plugins: the store has no plugin job runs (the plugins module); scheduled job slots are claimed in memory, ' +
      'so with several instances each would run every slot',
  );
  return plugins.createMemoryPluginJobRunStore();
}

function memoryStorage(
  plugins: typeof import('@kaiwa/plugins'),
  logger: FastifyBaseLogger,
): PluginKeyValueStore {
  logger.warn(
    'plugins: the store has no plugin storage (the plugins module); plugins keep their data in memory, ' +
      'lost at restart and not shared with other instances',
  );
  return plugins.createMemoryKeyValueStore();
}

/** The plugin's bot user, found by username or created; never a person who happens to have the name. */
async function ensurePluginUser(engine: ChatEngine, pluginId: string, name: string): Promise<User> {
  const username = `plugin-${pluginId}`.slice(0, 32).toLowerCase();
  try {
    const user = await engine.getUserByUsername(username);
    if (user.role !== 'bot') throw new Error(`the user "${username}" exists and is not a bot`);
    return user;
  } catch (error) {
    if (!(error instanceof NotFoundError)) throw error;
    return engine.createUser({ username, displayName: name, role: 'bot' });
  }
}

/**
 * Loads every plugin folder under KAIWA_PLUGIN_DIR (each manifest checked: a bad one is an error naming the
 * folder and every problem), creates their bot users and wires them to the engine. Undefined when unset.
 */
export async function composePlugins(config: PluginCompositionConfig): Promise<PluginService | undefined> {
  const { settings, engine } = config;
  if (!settings) return undefined;
  const plugins = await import('@kaiwa/plugins');
  const folders = (await readdir(settings.directory, { withFileTypes: true }))
    .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.'))
    .map((entry) => join(settings.directory, entry.name))
    .sort();
  const botUsers = new Map<string, User>();
  const botOf = (pluginId: string): User => {
    const user = botUsers.get(pluginId);
    if (!user) throw new Error(`no bot user for plugin "${pluginId}"`);
    return user;
  };
  const ports: PluginHostPorts = {
    async postMessage({ pluginId, roomId, text, threadRootId }) {
      const bot = botOf(pluginId);
      const room = await engine.getRoom(bot.id, roomId);
      if (!(await engine.findMembership(bot.id, room.id)) && room.kind === 'channel') {
        await engine.joinRoom(bot.id, room.id);
      }
      const message = await engine.sendMessage(bot.id, {
        roomId: room.id,
        text,
        ...(threadRootId ? { threadRootId } : {}),
      });
      return { messageId: message.id };
    },
    async readMessages({ pluginId, roomId, limit }) {
      const page = await engine.history(botOf(pluginId).id, { roomId, limit: Math.min(limit, 200) });
      return page.messages.reverse().map(toPluginMessage);
    },
    async describeRoom({ pluginId, roomId }) {
      const bot = botOf(pluginId);
      const room = await engine.getRoom(bot.id, roomId).catch(() => undefined);
      if (!room) return undefined;
      const membership = await engine.findMembership(bot.id, room.id).catch(() => undefined);
      return {
        id: room.id,
        ...(room.name ? { name: room.name } : {}),
        pluginIsMember: membership !== undefined,
      };
    },
    // Per plugin and quota-checked, in the database where the store has the plugins module.
    storage: config.storage ?? memoryStorage(plugins, config.logger),
  };
  let service: PluginService | undefined;
  const host = new plugins.PluginHost({
    ports,
    // Each plugin runs where its manifest says; the container engine is reached at a container plugin's first
    // start (without one, that plugin fails to start with `container_engine_unavailable`, reported like any).
    runtime: [
      plugins.createProcessRuntime({ acceptUnisolatedNetwork: settings.acceptUnisolatedNetwork }),
      plugins.createContainerRuntime(
        settings.containerSocket ? { socketPath: settings.containerSocket } : {},
      ),
    ],
    engineVersion: ENGINE_VERSION,
    onEvent: (event) => service?.onEvent(event),
  });
  const steps: { type: string; description: string }[] = [];
  const settingsStore = config.settingsStore ?? memorySettings(plugins, config.logger);
  for (const folder of folders) {
    const supervisor = await addPlugin(plugins, host, folder, settingsStore, config.logger);
    const manifest = supervisor.plugin.manifest;
    botUsers.set(manifest.id, await ensurePluginUser(engine, manifest.id, manifest.name ?? manifest.id));
    steps.push(...manifest.capabilities.workflowSteps);
  }
  const declaresJobs = host.scheduledJobs().length > 0;
  const jobRuns =
    config.jobRuns ??
    (declaresJobs ? memoryJobRuns(plugins, config.logger) : plugins.createMemoryPluginJobRunStore());
  const scheduler = new plugins.PluginJobScheduler({
    host,
    runs: jobRuns,
    // Names the instance in the runs it claims, for admins reading them.
    instanceId: `${hostname().slice(0, 64)}:${process.pid}:${randomUUID().slice(0, 8)}`,
    onEvent: (event) => service?.onJobEvent(event),
  });
  service = new PluginService(config, host, botUsers, steps, scheduler, jobRuns, settingsStore);
  service.lifecycle = new PluginLifecycleService({
    lifecycle: new plugins.PluginLifecycle({
      host,
      directory: settings.directory,
      installations: config.installations ?? memoryInstallations(plugins, config.logger),
      storage: ports.storage,
      jobRuns,
      settings: settingsStore,
      engineVersion: ENGINE_VERSION,
      add: (folder) => addPlugin(plugins, host, folder, settingsStore, config.logger),
    }),
    engine,
    botUsers,
    logger: config.logger,
    // A plugin installed, upgraded or uninstalled while the server runs: its jobs and step types follow at once.
    onChange: (change) => service?.afterLifecycleChange(change),
    ensureBot: (pluginId, name) => ensurePluginUser(engine, pluginId, name),
  });
  return service;
}
