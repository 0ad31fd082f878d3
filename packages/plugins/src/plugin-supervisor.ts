import {
  JsonRpcClosedError,
  JsonRpcError,
  JsonRpcPeer,
  JsonRpcTimeoutError,
  type JsonValue,
  type LogLevel,
  type PluginMethods,
  type PluginSettings,
  PROTOCOL_VERSION,
  RpcErrorCode,
} from '@kaiwa/plugin-sdk';
import { z } from 'zod';
import { describeIssues, PluginError, type PluginIssue } from './errors.js';
import { createHostApi } from './host-api.js';
import type { PluginPackage } from './manifest.js';
import type { PluginHostPorts } from './plugin-host-ports.js';
import type { PluginExit, PluginProcessHandle, PluginRuntime } from './process-runtime.js';

export type PluginState = 'stopped' | 'starting' | 'running' | 'restarting' | 'failed';

/** Why a plugin process ended: asked to, crashed, ran out of heap, or was killed for hanging or misbehaving. */
export type PluginExitReason = 'stopped' | 'crashed' | 'out_of_memory' | 'unresponsive' | 'violation';

/** What happened to a plugin, for admins (the server turns these into logs, metrics and notices). */
export type PluginEvent =
  | { type: 'started'; pluginId: string; pid: number | undefined }
  | {
      type: 'exited';
      pluginId: string;
      reason: PluginExitReason;
      code: number | null;
      signal: string | null;
      /** The end of its stderr, for the crash report. */
      stderr: string;
    }
  | { type: 'restart-scheduled'; pluginId: string; attempt: number; delayMs: number }
  | { type: 'gave-up'; pluginId: string; attempts: number }
  | { type: 'start-failed'; pluginId: string; error: PluginError }
  | { type: 'call-timeout'; pluginId: string; method: string; timeoutMs: number }
  | { type: 'unresponsive'; pluginId: string }
  | {
      type: 'violation';
      pluginId: string;
      reason: 'message_too_large' | 'flood' | 'invalid_json' | 'invalid_message' | 'unexpected_response';
      detail: string;
    }
  | { type: 'capability-denied'; pluginId: string; method: string; capability: string; message: string }
  /** An answer Kaiwa refused (an HTTP answer setting a cookie, say); the caller got a 502. */
  | { type: 'invalid-response'; pluginId: string; method: string; detail: string }
  | { type: 'event-dropped'; pluginId: string; method: string }
  | { type: 'log'; pluginId: string; level: LogLevel; message: string; fields?: Record<string, JsonValue> };

export interface PluginSupervisorConfig {
  plugin: PluginPackage;
  runtime: PluginRuntime;
  ports: PluginHostPorts;
  /** Resolved settings (`resolvePluginSettings`). */
  settings?: PluginSettings;
  onEvent?(event: PluginEvent): void;
  restart?: {
    /** First delay; doubles per attempt. Default 500 ms. */
    initialDelayMs?: number;
    /** Default 30 s. */
    maxDelayMs?: number;
    /** Restarts in a row before giving up (state `failed`). Default 5. */
    maxAttempts?: number;
    /** A run this long resets the count. Default 60 s. */
    stableAfterMs?: number;
  };
  healthCheck?: {
    /** Default 10 s. */
    intervalMs?: number;
    /** A ping not answered within this kills the plugin. Default 2 s. */
    timeoutMs?: number;
  };
  /** Deadline of the handshake. Default 10 s. */
  startTimeoutMs?: number;
  /** Longest line the plugin may send. Default 2 MiB (an `http.fetch` body of 1 MiB travels as base64). */
  maxMessageBytes?: number;
  /** More lines than this within one second stop the plugin. Default 1000. */
  maxMessagesPerSecond?: number;
  /** Calls from the plugin handled at once, and events waiting on it; beyond that calls are refused, events dropped. Default 32. */
  maxConcurrentCalls?: number;
}

const InitializeResultSchema = z.object({
  protocolVersion: z.literal(PROTOCOL_VERSION),
  commands: z.array(z.string()).max(100),
  stepTypes: z.array(z.string()).max(100),
  messageEvents: z.boolean(),
  // Optional within protocol 1: a plugin built before scheduled jobs existed has none.
  jobs: z.array(z.string()).max(100).default([]),
  // Optional within protocol 1 too: a plugin built before HTTP routes existed serves none.
  httpRoutes: z.array(z.string()).max(100).default([]),
  // Optional within protocol 1 as well: a plugin without a migration hook leaves it out.
  migrate: z.boolean().default(false),
});

interface Incarnation {
  handle: PluginProcessHandle;
  peer: JsonRpcPeer;
  stderr: string;
  ready: boolean;
  startedAt: number;
  killReason?: PluginExitReason;
  checkingHealth: boolean;
  hostCalls: number;
  events: number;
  exit?: Promise<void>;
}

const STDERR_TAIL = 4096;
const STOP_GRACE_MS = 2_000;

/**
 * Runs one plugin and keeps it running. Guarantees: every call to the plugin settles within the manifest's
 * `callTimeoutMs` (a `PluginError` `timeout`, never a wait beyond it); a call that times out is followed by a
 * ping, and a plugin that does not answer that either is killed and restarted. A plugin that exits on its own
 * is restarted with exponential backoff, up to `maxAttempts` in a row (a run of `stableAfterMs` resets the
 * count), then left `failed`. A plugin that sends a line over `maxMessageBytes` or more than
 * `maxMessagesPerSecond` lines is killed (and restarted). Everything is reported through `onEvent`. Calls from the
 * plugin are checked against its manifest before they reach Kaiwa. A first start that fails is not retried:
 * `start` rejects.
 *
 * @example
 * const supervisor = new PluginSupervisor({ plugin, runtime: createProcessRuntime(), ports, onEvent: console.log });
 * await supervisor.start();
 * const { reply } = await supervisor.call('commands.run', { command: 'hello', args: '', roomId, userId });
 */
export class PluginSupervisor {
  readonly plugin: PluginPackage;
  readonly #config: PluginSupervisorConfig;
  #state: PluginState = 'stopped';
  #current: Incarnation | undefined;
  #registered: PluginMethods['initialize']['result'] | undefined;
  #attempts = 0;
  #restartTimer: NodeJS.Timeout | undefined;
  #healthTimer: NodeJS.Timeout | undefined;
  #starting: Promise<void> | undefined;
  #settings: PluginSettings;

  constructor(config: PluginSupervisorConfig) {
    this.plugin = config.plugin;
    this.#config = config;
    this.#settings = config.settings ?? {};
  }

  /** The settings the plugin gets at its next start (and has now, unless they changed since it started). */
  get settings(): PluginSettings {
    return { ...this.#settings };
  }

  /**
   * Replaces the plugin's settings (resolved: `resolvePluginSettings`). A plugin that is running, starting or
   * waiting to restart is stopped and started again, so its `initialize` and `settings.get` see them; a stopped
   * or failed one gets them at its next start. Rejects with the start's `PluginError` when it does not come back.
   *
   * @example await supervisor.reconfigure(resolvePluginSettings(manifest, { greeting: 'Hi' }));
   */
  async reconfigure(settings: PluginSettings): Promise<void> {
    this.#settings = { ...settings };
    if (this.#state === 'stopped' || this.#state === 'failed') return;
    await this.stop();
    await this.start();
  }

  get id(): string {
    return this.plugin.manifest.id;
  }

  get state(): PluginState {
    return this.#state;
  }

  /** What the running plugin registered in its handshake (`undefined` before the first). */
  get registered(): PluginMethods['initialize']['result'] | undefined {
    return this.#registered;
  }

  /** Starts the plugin and waits for its handshake; rejects with `PluginError` when it cannot. */
  start(): Promise<void> {
    if (this.#state === 'running') return Promise.resolve();
    if (this.#starting) return this.#starting;
    clearTimeout(this.#restartTimer);
    this.#attempts = 0;
    this.#state = 'starting';
    this.#starting = this.#launch()
      .catch((error: unknown) => {
        this.#state = 'failed';
        throw error;
      })
      .finally(() => {
        this.#starting = undefined;
      });
    return this.#starting;
  }

  /** Asks the plugin to shut down, kills it after a grace period, and does not restart it. */
  async stop(): Promise<void> {
    clearTimeout(this.#restartTimer);
    await this.#starting?.catch(() => {});
    const incarnation = this.#current;
    this.#state = 'stopped';
    if (!incarnation) return;
    incarnation.killReason = 'stopped';
    await incarnation.peer.request('shutdown', {}, { timeoutMs: 500 }).catch(() => {});
    incarnation.handle.stdin.end();
    incarnation.handle.terminate?.();
    const timer = setTimeout(() => incarnation.handle.kill(), STOP_GRACE_MS);
    await incarnation.exit;
    clearTimeout(timer);
  }

  /**
   * Calls the plugin within its deadline.
   *
   * @example const { output } = await supervisor.call('steps.run', { type: 'hello.greet', input: 'Ada' });
   */
  async call<
    Method extends
      | 'commands.run'
      | 'steps.run'
      | 'messages.created'
      | 'jobs.run'
      | 'http.request'
      | 'migrate',
  >(method: Method, params: PluginMethods[Method]['params']): Promise<PluginMethods[Method]['result']> {
    const incarnation = this.#current;
    if (this.#state !== 'running' || !incarnation?.ready) {
      throw new PluginError('not_running', `plugin "${this.id}" is ${this.#state}`, { pluginId: this.id });
    }
    const timeoutMs = this.plugin.manifest.limits.callTimeoutMs;
    try {
      return (await incarnation.peer.request(method, params, {
        timeoutMs,
      })) as PluginMethods[Method]['result'];
    } catch (error) {
      throw this.#callError(incarnation, method, error);
    }
  }

  /**
   * Runs the plugin's migration hook after an upgrade, within its call deadline; resolves `false` when the
   * running plugin registered none. Throws `PluginError` like {@link call} (`timeout`, `plugin_failed`, …).
   *
   * @example await supervisor.migrate('1.0.0', '2.0.0');
   */
  async migrate(fromVersion: string, toVersion: string): Promise<boolean> {
    if (this.#state === 'running' && !this.#registered?.migrate) return false;
    await this.call('migrate', { fromVersion, toVersion });
    return true;
  }

  /**
   * Asks the running plugin for a sign of life within the health check's deadline (default 2 s), as the
   * periodic health check does. Throws `PluginError` `not_running` or `timeout`; it does not stop the plugin.
   *
   * @example await supervisor.ping();
   */
  async ping(): Promise<void> {
    const incarnation = this.#current;
    if (this.#state !== 'running' || !incarnation?.ready) {
      throw new PluginError('not_running', `plugin "${this.id}" is ${this.#state}`, { pluginId: this.id });
    }
    const timeoutMs = this.#config.healthCheck?.timeoutMs ?? 2_000;
    try {
      await incarnation.peer.request('ping', {}, { timeoutMs });
    } catch (error) {
      throw error instanceof JsonRpcTimeoutError
        ? new PluginError(
            'timeout',
            `plugin "${this.id}" did not answer a health check within ${timeoutMs} ms`,
            {
              pluginId: this.id,
              cause: error,
            },
          )
        : new PluginError('not_running', `plugin "${this.id}" failed its health check`, {
            pluginId: this.id,
            cause: error,
          });
    }
  }

  /**
   * Hands an event to the plugin without waiting for it: returns at once. Dropped (and reported) when the
   * plugin is not running or already has `maxConcurrentCalls` events waiting.
   */
  deliver(method: 'messages.created', params: PluginMethods['messages.created']['params']): void {
    const incarnation = this.#current;
    if (this.#state !== 'running' || !incarnation?.ready) return;
    if (incarnation.events >= (this.#config.maxConcurrentCalls ?? 32)) {
      this.#emit({ type: 'event-dropped', pluginId: this.id, method });
      return;
    }
    incarnation.events++;
    this.call(method, params)
      .catch(() => {})
      .finally(() => {
        incarnation.events--;
      });
  }

  #emit(event: PluginEvent): void {
    try {
      this.#config.onEvent?.(event);
    } catch {
      // A listener's failure must not break supervision.
    }
  }

  #callError(incarnation: Incarnation, method: string, error: unknown): PluginError {
    const pluginId = this.id;
    if (error instanceof JsonRpcTimeoutError) {
      this.#emit({ type: 'call-timeout', pluginId, method, timeoutMs: error.timeoutMs });
      void this.#checkHealth(incarnation);
      return new PluginError(
        'timeout',
        `plugin "${pluginId}" did not answer "${method}" within ${error.timeoutMs} ms`,
        {
          pluginId,
          cause: error,
        },
      );
    }
    if (error instanceof JsonRpcClosedError) {
      return new PluginError('not_running', `plugin "${pluginId}" stopped during "${method}"`, {
        pluginId,
        cause: error,
      });
    }
    if (error instanceof JsonRpcError) {
      return new PluginError('plugin_failed', `plugin "${pluginId}": ${error.message}`, {
        pluginId,
        cause: error,
      });
    }
    return new PluginError('plugin_failed', `plugin "${pluginId}" failed "${method}"`, {
      pluginId,
      cause: error,
    });
  }

  async #checkHealth(incarnation: Incarnation): Promise<void> {
    if (incarnation.checkingHealth || incarnation !== this.#current) return;
    incarnation.checkingHealth = true;
    try {
      await incarnation.peer.request('ping', {}, { timeoutMs: this.#config.healthCheck?.timeoutMs ?? 2_000 });
    } catch (error) {
      if (incarnation === this.#current && !(error instanceof JsonRpcClosedError)) {
        this.#emit({ type: 'unresponsive', pluginId: this.id });
        this.#kill(incarnation, 'unresponsive');
      }
    } finally {
      incarnation.checkingHealth = false;
    }
  }

  #kill(incarnation: Incarnation, reason: PluginExitReason): void {
    incarnation.killReason ??= reason;
    incarnation.handle.kill();
  }

  async #launch(): Promise<void> {
    const { plugin, runtime } = this.#config;
    const pluginId = this.id;
    const handle = await runtime.launch(plugin);
    const maxCalls = this.#config.maxConcurrentCalls ?? 32;
    const hostApi = createHostApi({
      manifest: plugin.manifest,
      ports: this.#config.ports,
      settings: this.#settings,
      onLog: (entry) => this.#emit({ type: 'log', pluginId, ...entry }),
      onDenied: (denial) => this.#emit({ type: 'capability-denied', pluginId, ...denial }),
    });
    const incarnation: Incarnation = {
      handle,
      stderr: '',
      ready: false,
      startedAt: Date.now(),
      checkingHealth: false,
      hostCalls: 0,
      events: 0,
      peer: new JsonRpcPeer({
        send: (line) => {
          handle.stdin.write(`${line}\n`);
        },
        maxMessageBytes: this.#config.maxMessageBytes ?? 2 * 1024 * 1024,
        handle: async (method, params) => {
          if (incarnation.hostCalls >= maxCalls) {
            throw new JsonRpcError(RpcErrorCode.busy, `more than ${maxCalls} calls at once`);
          }
          incarnation.hostCalls++;
          try {
            return await hostApi(method, params);
          } finally {
            incarnation.hostCalls--;
          }
        },
        onViolation: (violation) => {
          const detail =
            violation.reason === 'message_too_large'
              ? `a line of more than ${violation.bytes} bytes`
              : violation.reason === 'unexpected_response'
                ? `an answer to unknown id ${JSON.stringify(violation.id)}`
                : violation.detail;
          this.#emit({ type: 'violation', pluginId, reason: violation.reason, detail });
          if (violation.reason === 'message_too_large') this.#kill(incarnation, 'violation');
        },
      }),
    };
    this.#current = incarnation;
    this.#watch(incarnation);
    incarnation.exit = handle.exited.then((exit) => this.#exited(incarnation, exit));

    let result: PluginMethods['initialize']['result'];
    try {
      const answer = await incarnation.peer.request(
        'initialize',
        {
          protocolVersion: PROTOCOL_VERSION,
          plugin: { id: pluginId, version: plugin.manifest.version },
          settings: this.#settings,
        } satisfies PluginMethods['initialize']['params'],
        { timeoutMs: this.#config.startTimeoutMs ?? 10_000 },
      );
      const parsed = InitializeResultSchema.safeParse(answer);
      if (!parsed.success)
        throw new Error(`invalid handshake answer: ${parsed.error.issues[0]?.message ?? ''}`);
      result = parsed.data;
      const issues = this.#undeclared(result);
      if (issues.length > 0) {
        throw new PluginError(
          'start_failed',
          `plugin "${pluginId}" registered what its manifest does not declare: ${describeIssues(issues)}`,
          {
            pluginId,
            issues,
            isRetryable: false,
          },
        );
      }
    } catch (error) {
      this.#kill(incarnation, 'violation');
      await incarnation.exit;
      const stderr = incarnation.stderr.trim();
      const failure = PluginError.isInstance(error)
        ? error
        : new PluginError(
            'start_failed',
            `plugin "${pluginId}" failed its handshake: ${(error as Error).message}${stderr ? `\n${stderr}` : ''}`,
            { pluginId, cause: error },
          );
      this.#emit({ type: 'start-failed', pluginId, error: failure });
      throw failure;
    }
    incarnation.ready = true;
    this.#registered = result;
    this.#state = 'running';
    this.#emit({ type: 'started', pluginId, pid: handle.pid });
    this.#startHealthChecks(incarnation);
  }

  #undeclared(result: PluginMethods['initialize']['result']): PluginIssue[] {
    const capabilities = this.plugin.manifest.capabilities;
    const commands = new Set(capabilities.slashCommands.map((command) => command.name));
    const stepTypes = new Set(capabilities.workflowSteps.map((step) => step.type));
    const issues: PluginIssue[] = [];
    for (const command of result.commands) {
      if (!commands.has(command))
        issues.push({ path: ['capabilities', 'slashCommands'], message: `"${command}" not declared` });
    }
    for (const type of result.stepTypes) {
      if (!stepTypes.has(type))
        issues.push({ path: ['capabilities', 'workflowSteps'], message: `"${type}" not declared` });
    }
    const jobs = new Set(capabilities.scheduledJobs.map((job) => job.name));
    for (const job of result.jobs ?? []) {
      if (!jobs.has(job))
        issues.push({ path: ['capabilities', 'scheduledJobs'], message: `"${job}" not declared` });
    }
    const routes = new Set(capabilities.httpRoutes.map((route) => `${route.method} ${route.path}`));
    for (const route of result.httpRoutes ?? []) {
      if (!routes.has(route))
        issues.push({ path: ['capabilities', 'httpRoutes'], message: `"${route}" not declared` });
    }
    if (result.messageEvents && !capabilities.messageEvents) {
      issues.push({ path: ['capabilities', 'messageEvents'], message: 'message events not declared' });
    }
    return issues;
  }

  #watch(incarnation: Incarnation): void {
    const { handle, peer } = incarnation;
    const maxPerSecond = this.#config.maxMessagesPerSecond ?? 1000;
    let windowStart = Date.now();
    let lines = 0;
    handle.stdout.on('data', (chunk: Buffer) => {
      if (incarnation.killReason) return;
      const now = Date.now();
      if (now - windowStart >= 1000) {
        windowStart = now;
        lines = 0;
      }
      for (let at = chunk.indexOf(0x0a); at !== -1; at = chunk.indexOf(0x0a, at + 1)) lines++;
      if (lines > maxPerSecond) {
        this.#emit({
          type: 'violation',
          pluginId: this.id,
          reason: 'flood',
          detail: `more than ${maxPerSecond} lines in one second`,
        });
        this.#kill(incarnation, 'violation');
        peer.close('flooding');
        return;
      }
      peer.receive(chunk);
    });
    handle.stderr.on('data', (chunk: Buffer) => {
      incarnation.stderr = (incarnation.stderr + chunk.toString('utf8')).slice(-STDERR_TAIL);
    });
  }

  #startHealthChecks(incarnation: Incarnation): void {
    clearInterval(this.#healthTimer);
    this.#healthTimer = setInterval(
      () => void this.#checkHealth(incarnation),
      this.#config.healthCheck?.intervalMs ?? 10_000,
    );
    this.#healthTimer.unref();
  }

  #exited(incarnation: Incarnation, exit: PluginExit): void {
    incarnation.peer.close('the plugin exited');
    if (incarnation !== this.#current) return;
    this.#current = undefined;
    clearInterval(this.#healthTimer);
    const outOfMemory =
      exit.outOfMemory === true || /heap out of memory|Reached heap limit/i.test(incarnation.stderr);
    const reason: PluginExitReason = incarnation.killReason ?? (outOfMemory ? 'out_of_memory' : 'crashed');
    this.#emit({
      type: 'exited',
      pluginId: this.id,
      reason,
      code: exit.code,
      signal: exit.signal,
      stderr: incarnation.stderr.slice(-1024),
    });
    // A failed handshake is handled by its launch; a stop is not restarted.
    if (!incarnation.ready || reason === 'stopped' || this.#state === 'stopped') return;
    if (Date.now() - incarnation.startedAt >= (this.#config.restart?.stableAfterMs ?? 60_000))
      this.#attempts = 0;
    this.#scheduleRestart();
  }

  #scheduleRestart(): void {
    const restart = this.#config.restart ?? {};
    const maxAttempts = restart.maxAttempts ?? 5;
    this.#attempts++;
    if (this.#attempts > maxAttempts) {
      this.#state = 'failed';
      this.#emit({ type: 'gave-up', pluginId: this.id, attempts: this.#attempts - 1 });
      return;
    }
    const delayMs = Math.min(
      restart.maxDelayMs ?? 30_000,
      (restart.initialDelayMs ?? 500) * 2 ** (this.#attempts - 1),
    );
    this.#state = 'restarting';
    this.#emit({ type: 'restart-scheduled', pluginId: this.id, attempt: this.#attempts, delayMs });
    this.#restartTimer = setTimeout(() => {
      if (this.#state !== 'restarting') return;
      this.#starting = this.#launch()
        .catch((error: unknown) => {
          if (this.#state !== 'restarting') return;
          // The runtime refusing (no isolation, a symbolic link) will not change by waiting.
          if (
            PluginError.isInstance(error) &&
            (error.code === 'unsupported' || error.code === 'network_isolation_unavailable')
          ) {
            this.#state = 'failed';
            return;
          }
          this.#scheduleRestart();
        })
        .finally(() => {
          this.#starting = undefined;
        });
    }, delayMs);
    this.#restartTimer.unref();
  }
}
