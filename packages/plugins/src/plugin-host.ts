import type { JsonValue, PluginHttpRequest, PluginMessage } from '@kaiwa/plugin-sdk';
import { describeIssues, PluginError } from './errors.js';
import { roomInScope } from './host-api.js';
import {
  type CheckedHttpResponse,
  checkHttpResponse,
  matchPluginRoute,
  type PluginRouteMatch,
} from './http-routes.js';
import { loadPluginPackage, resolvePluginSettings } from './manifest.js';
import type { PluginHostPorts } from './plugin-host-ports.js';
import {
  type PluginEvent,
  type PluginState,
  PluginSupervisor,
  type PluginSupervisorConfig,
} from './plugin-supervisor.js';
import type { PluginRuntime } from './process-runtime.js';

export interface PluginHostConfig {
  ports: PluginHostPorts;
  /** Where plugins run; with several, each plugin gets the one its manifest's `runtime` names. */
  runtime: PluginRuntime | readonly PluginRuntime[];
  /** This Kaiwa's version, checked against each manifest's `engines.kaiwa`. */
  engineVersion: string;
  /** Every plugin's events (crashes, restarts, denials, logs), for admins. */
  onEvent?(event: PluginEvent): void;
  /** Restart, health check and limit settings shared by every plugin. */
  supervision?: Pick<
    PluginSupervisorConfig,
    | 'restart'
    | 'healthCheck'
    | 'startTimeoutMs'
    | 'maxMessageBytes'
    | 'maxMessagesPerSecond'
    | 'maxConcurrentCalls'
  >;
}

/** An HTTP request for `PluginHost.serveHttp`: the plugin's request less what the host works out (route, params). */
export type PluginHttpInput = Omit<PluginHttpRequest, 'route' | 'params'> & { pluginId: string };

/** A slash command as the chat UI lists it. */
export interface PluginCommand {
  name: string;
  description: string;
  pluginId: string;
}

/**
 * Kaiwa's side of its plugins: adds plugin folders (manifest checked, settings resolved), starts and stops them
 * under a {@link PluginSupervisor} each, and routes slash commands, workflow steps and message events to the
 * plugin that registered them, and runs the scheduled jobs its manifest declares when `PluginJobScheduler` says
 * so. A command's reply is posted in the room where it was run, as the plugin's bot
 * user (running a command there is the invitation; `messages.post` is not needed for that). Message delivery
 * never waits: `dispatchMessage` returns at once.
 *
 * @example
 * const host = new PluginHost({ ports, runtime: createProcessRuntime(), engineVersion: '0.1.0', onEvent: log });
 * await host.add('/srv/kaiwa/plugins/hello');
 * await host.start('hello');
 * await host.runCommand({ command: 'hello', args: 'world', roomId, userId });
 */
export class PluginHost {
  readonly #config: PluginHostConfig;
  readonly #plugins = new Map<string, PluginSupervisor>();

  constructor(config: PluginHostConfig) {
    this.#config = config;
  }

  /** Loads a plugin folder; throws `PluginError` naming every problem. Does not start it. */
  async add(folder: string, settings: Record<string, unknown> = {}): Promise<PluginSupervisor> {
    const plugin = await loadPluginPackage(folder, { engineVersion: this.#config.engineVersion });
    const pluginId = plugin.manifest.id;
    if (this.#plugins.has(pluginId)) {
      throw new PluginError('invalid_manifest', `a plugin "${pluginId}" is already added`, {
        pluginId,
        issues: [{ path: ['id'], message: 'already in use' }],
      });
    }
    const runtimes = [this.#config.runtime].flat();
    const runtime = runtimes.find((candidate) => candidate.name === plugin.manifest.runtime);
    if (!runtime) {
      throw new PluginError(
        'unsupported',
        `plugin "${pluginId}" asks for the ${plugin.manifest.runtime} runtime; this host runs ${runtimes.map((candidate) => candidate.name).join(' and ')}`,
        { pluginId },
      );
    }
    const supervisor = new PluginSupervisor({
      ...this.#config.supervision,
      plugin,
      runtime,
      ports: this.#config.ports,
      settings: resolvePluginSettings(plugin.manifest, settings),
      onEvent: (event) => this.#config.onEvent?.(event),
    });
    this.#plugins.set(pluginId, supervisor);
    return supervisor;
  }

  start(pluginId: string): Promise<void> {
    return this.#plugin(pluginId).start();
  }

  /**
   * Gives a plugin new settings (an admin's values, checked against its manifest's settings schema, defaults
   * filled in) and restarts it with them when it runs. Throws `PluginError`: `not_found` for an unknown plugin,
   * `invalid_settings` naming every bad key (nothing changes then), or the restart's error when the plugin does
   * not come back with them (it keeps the new settings).
   *
   * @example
   * await host.configure('hello', { greeting: 'Hi' }); // { greeting: 'Hi' }, and hello restarted with it
   */
  async configure(
    pluginId: string,
    values: Record<string, unknown>,
  ): Promise<Record<string, string | number | boolean>> {
    const settings = this.resolveSettings(pluginId, values);
    await this.#plugin(pluginId).reconfigure(settings);
    return settings;
  }

  /**
   * Checks an admin's settings for a plugin against its manifest's settings schema without applying them:
   * answers them with defaults filled in. Throws `PluginError` `not_found` or `invalid_settings` naming every
   * bad key.
   *
   * @example host.resolveSettings('hello', { greeting: 'Hi' }); // { greeting: 'Hi' }
   */
  resolveSettings(
    pluginId: string,
    values: Record<string, unknown>,
  ): Record<string, string | number | boolean> {
    return resolvePluginSettings(this.#plugin(pluginId).plugin.manifest, values);
  }

  stop(pluginId: string): Promise<void> {
    return this.#plugin(pluginId).stop();
  }

  /**
   * Stops a plugin and forgets it (uninstalled, or about to be added again from another folder); nothing
   * happens for an unknown id.
   */
  async remove(pluginId: string): Promise<void> {
    const plugin = this.#plugins.get(pluginId);
    if (!plugin) return;
    await plugin.stop();
    this.#plugins.delete(pluginId);
  }

  /** The plugin added under this id, if any (its manifest, folder and state). */
  get(pluginId: string): PluginSupervisor | undefined {
    return this.#plugins.get(pluginId);
  }

  /** Stops every plugin (Kaiwa shutting down). */
  async stopAll(): Promise<void> {
    await Promise.all([...this.#plugins.values()].map((plugin) => plugin.stop()));
  }

  list(): { id: string; state: PluginState; version: string }[] {
    return [...this.#plugins.values()].map((plugin) => ({
      id: plugin.id,
      state: plugin.state,
      version: plugin.plugin.manifest.version,
    }));
  }

  /** Slash commands of running plugins. */
  commands(): PluginCommand[] {
    return this.#running().flatMap((plugin) =>
      plugin.plugin.manifest.capabilities.slashCommands
        .filter((command) => plugin.registered?.commands.includes(command.name))
        .map((command) => ({ name: command.name, description: command.description, pluginId: plugin.id })),
    );
  }

  /**
   * Runs a slash command (name without `/`) and posts its reply in the room. Throws `PluginError`: `not_found`
   * when no running plugin has the command, `timeout` past the plugin's deadline.
   */
  async runCommand(input: {
    command: string;
    args: string;
    roomId: string;
    userId: string;
    threadRootId?: string;
  }): Promise<{ reply?: string; messageId?: string }> {
    const plugin = this.#running().find((candidate) =>
      candidate.registered?.commands.includes(input.command),
    );
    if (!plugin) throw new PluginError('not_found', `no plugin provides /${input.command}`);
    const { reply } = await plugin.call('commands.run', input);
    if (typeof reply !== 'string' || reply === '') return {};
    const text = reply.slice(0, 40_000);
    const { messageId } = await this.#config.ports.postMessage({
      pluginId: plugin.id,
      roomId: input.roomId,
      text,
      ...(input.threadRootId ? { threadRootId: input.threadRootId } : {}),
    });
    return { reply: text, messageId };
  }

  /** Runs a workflow step of a plugin-provided type and returns its output. */
  async runStep(input: { type: string; input: JsonValue; runId?: string }): Promise<JsonValue> {
    const plugin = this.#running().find((candidate) => candidate.registered?.stepTypes.includes(input.type));
    if (!plugin) throw new PluginError('not_found', `no plugin provides step type "${input.type}"`);
    const { output } = await plugin.call('steps.run', input);
    return output;
  }

  /** Step types of running plugins, for the workflow editor. */
  stepTypes(): { type: string; description: string; pluginId: string }[] {
    return this.#running().flatMap((plugin) =>
      plugin.plugin.manifest.capabilities.workflowSteps
        .filter((step) => plugin.registered?.stepTypes.includes(step.type))
        .map((step) => ({ ...step, pluginId: plugin.id })),
    );
  }

  /** Every scheduled job the added plugins' manifests declare, running or not, for the scheduler. */
  scheduledJobs(): { pluginId: string; job: string; schedule: string }[] {
    return [...this.#plugins.values()].flatMap((plugin) =>
      plugin.plugin.manifest.capabilities.scheduledJobs.map(({ name, schedule }) => ({
        pluginId: plugin.id,
        job: name,
        schedule,
      })),
    );
  }

  /** Whether the plugin is running here with a handler for the job (what a slot needs before it is claimed). */
  canRunJob(pluginId: string, job: string): boolean {
    const plugin = this.#plugins.get(pluginId);
    return plugin?.state === 'running' && (plugin.registered?.jobs ?? []).includes(job);
  }

  /**
   * Runs one slot of a scheduled job within the plugin's call deadline. Only a job the manifest declares runs:
   * any other is refused with `capability_denied` before the plugin hears of it. Throws `PluginError`:
   * `not_found` for an unknown plugin or a declared job it has no handler for, `not_running`, `timeout`,
   * `plugin_failed` when the handler throws. The scheduler (`PluginJobScheduler`) claims the slot first.
   *
   * @example
   * await host.runJob({ pluginId: 'hello', job: 'digest', scheduledAt: '2026-12-07T09:00:00.000Z' });
   */
  async runJob(input: { pluginId: string; job: string; scheduledAt: string }): Promise<void> {
    const plugin = this.#plugin(input.pluginId);
    const { pluginId, job, scheduledAt } = input;
    if (!plugin.plugin.manifest.capabilities.scheduledJobs.some((declared) => declared.name === job)) {
      throw new PluginError(
        'capability_denied',
        `plugin "${pluginId}" declares no scheduled job "${job}" (capabilities.scheduledJobs)`,
        { pluginId },
      );
    }
    if (plugin.registered && !(plugin.registered.jobs ?? []).includes(job)) {
      throw new PluginError('not_found', `plugin "${pluginId}" has no handler for its job "${job}"`, {
        pluginId,
      });
    }
    await plugin.call('jobs.run', { job, scheduledAt });
  }

  /**
   * The route of plugin `pluginId` that a request's method and path (under `/plugins/<id>`, percent-encoded)
   * land on, whether the plugin runs or not; `undefined` for an unknown plugin or a route its manifest does not
   * declare. The server asks before it reads the body, to answer 404 or 401 first.
   *
   * @example
   * host.findHttpRoute('hello', 'GET', '/items/42')?.params; // { id: '42' }
   */
  findHttpRoute(pluginId: string, method: string, path: string): PluginRouteMatch | undefined {
    const plugin = this.#plugins.get(pluginId);
    if (!plugin) return undefined;
    return matchPluginRoute(plugin.plugin.manifest.capabilities.httpRoutes, method, path);
  }

  /**
   * Serves an HTTP request to a declared route within the plugin's call deadline, and checks the answer before
   * anyone sees it (`checkHttpResponse`: status, header allow-list, safe media types, body size). Throws
   * `PluginError`: `not_found` for an unknown plugin, an undeclared route or a declared one the running plugin
   * has no handler for, `not_running`, `timeout`, `plugin_failed` when the handler throws, `invalid_response`
   * (also reported as an `invalid-response` event) for an answer that breaks the rules.
   *
   * @example
   * const answer = await host.serveHttp({ pluginId: 'hello', method: 'GET', path: '/greeting', query: {},
   *   headers: {}, caller: { userId, username: 'ada', role: 'member' } });
   */
  async serveHttp(input: PluginHttpInput): Promise<CheckedHttpResponse> {
    const { pluginId, ...request } = input;
    const plugin = this.#plugin(pluginId);
    const match = matchPluginRoute(
      plugin.plugin.manifest.capabilities.httpRoutes,
      request.method,
      request.path,
    );
    if (!match) {
      throw new PluginError(
        'not_found',
        `plugin "${pluginId}" declares no route ${request.method} ${request.path}`,
        {
          pluginId,
        },
      );
    }
    if (plugin.state === 'running' && !(plugin.registered?.httpRoutes ?? []).includes(match.key)) {
      throw new PluginError('not_found', `plugin "${pluginId}" has no handler for its route ${match.key}`, {
        pluginId,
      });
    }
    const answer = await plugin.call('http.request', { ...request, route: match.key, params: match.params });
    const checked = checkHttpResponse(answer);
    if (!checked.ok) {
      const issues = checked.issues;
      const detail = `${match.key}: ${describeIssues(issues)}`;
      try {
        this.#config.onEvent?.({ type: 'invalid-response', pluginId, method: 'http.request', detail });
      } catch {
        // A listener's failure must not change the caller's answer.
      }
      throw new PluginError('invalid_response', `plugin "${pluginId}" answered ${detail}`, {
        pluginId,
        issues,
      });
    }
    return checked.response;
  }

  /**
   * Hands a new message to every running plugin that listens and may read its room. Returns at once: delivery of
   * the message to people never waits on plugins.
   */
  dispatchMessage(message: PluginMessage): void {
    for (const plugin of this.#running()) {
      if (!plugin.registered?.messageEvents) continue;
      const scope = plugin.plugin.manifest.capabilities.messages.read;
      if (!scope) continue;
      void this.#config.ports
        .describeRoom({ pluginId: plugin.id, roomId: message.roomId })
        .then((room) => {
          if (room && roomInScope(scope, room)) plugin.deliver('messages.created', { message });
        })
        .catch(() => {});
    }
  }

  #running(): PluginSupervisor[] {
    return [...this.#plugins.values()].filter((plugin) => plugin.state === 'running');
  }

  #plugin(pluginId: string): PluginSupervisor {
    const plugin = this.#plugins.get(pluginId);
    if (!plugin) throw new PluginError('not_found', `no plugin "${pluginId}"`, { pluginId });
    return plugin;
  }
}
