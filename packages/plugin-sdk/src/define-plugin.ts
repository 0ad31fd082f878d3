import { format } from 'node:util';
import { JsonRpcError, JsonRpcPeer } from './json-rpc-peer.js';
import {
  type HostMethods,
  HTTP_FETCH_REQUEST_BODY_LIMIT,
  HTTP_RESPONSE_BODY_LIMIT,
  type HttpMethod,
  type JsonValue,
  type LogLevel,
  type OutboundHttpMethod,
  type PluginMessage,
  type PluginMethods,
  type PluginSettings,
  PROTOCOL_VERSION,
  RpcErrorCode,
} from './protocol.js';

/** What every handler gets: Kaiwa's API as this plugin's manifest allows it, settings, storage, a logger. */
export interface PluginContext<Settings extends PluginSettings = PluginSettings> {
  plugin: { id: string; version: string };
  /** The admin's settings, checked against the manifest's settings schema, defaults filled in. */
  settings: Settings;
  kaiwa: {
    /** Posts as the plugin's bot user. Needs `messages.post` for the room. @example await kaiwa.postMessage({ roomId, text: 'Hi' }); */
    postMessage(input: HostMethods['messages.post']['params']): Promise<{ messageId: string }>;
    /** Latest messages first. Needs `messages.read` for the room. */
    readMessages(input: HostMethods['messages.read']['params']): Promise<PluginMessage[]>;
  };
  /** Key-value storage within the manifest's `storage.quotaBytes`; a write over it rejects with code `quota_exceeded`. */
  storage: {
    get(key: string): Promise<JsonValue | null>;
    set(key: string, value: JsonValue): Promise<void>;
    delete(key: string): Promise<void>;
    list(prefix?: string): Promise<string[]>;
  };
  log: Record<LogLevel, (message: string, fields?: Record<string, JsonValue>) => void>;
  /**
   * Outbound HTTP, made by Kaiwa for the plugin (it has no network of its own): only to the hosts the manifest's
   * `capabilities.network.outbound` declares, redirects included. Rejects with a `JsonRpcError`:
   * `capabilityDenied` for an undeclared scheme, host or port (`data.capability` names it) or a declared name
   * resolving to a private address (`data.code` `address_denied`); `httpFailed` with `data.code`
   * `body_too_large` (request over 1 MiB, answer over 5 MiB), `rate_limited` or `http_failed`.
   *
   * @example
   * const answer = await http.fetch('https://api.example.com/v1/items', { headers: { accept: 'application/json' } });
   * if (answer.ok) return (await answer.json()) as Item[];
   */
  http: {
    fetch(url: string, init?: PluginFetchInit): Promise<PluginFetchResponse>;
  };
}

/** What `http.fetch` sends beside the URL. */
export interface PluginFetchInit {
  /** Default `GET`. */
  method?: OutboundHttpMethod;
  headers?: Record<string, string>;
  /** Text is sent as UTF-8; at most 1 MiB. */
  body?: string | Uint8Array;
  /** At most the manifest's `limits.callTimeoutMs` (the default), redirects included. */
  timeoutMs?: number;
}

/** The answer to `http.fetch`, after redirects; the body is read whole (at most 5 MiB). */
export interface PluginFetchResponse {
  status: number;
  /** Status 200–299. */
  ok: boolean;
  /** Lower-case names; no hop-by-hop headers and no `set-cookie`. */
  headers: Record<string, string>;
  /** The URL that answered. */
  url: string;
  redirected: boolean;
  bytes(): Promise<Uint8Array>;
  text(): Promise<string>;
  json<T = JsonValue>(): Promise<T>;
}

export type CommandInput = PluginMethods['commands.run']['params'];
/** Answers a slash command: a string (or `{ reply }`) is posted in the room as the plugin; nothing posts nothing. */
export type CommandHandler<Settings extends PluginSettings = PluginSettings> = (
  input: CommandInput,
  context: PluginContext<Settings>,
) => Promise<string | { reply?: string } | undefined> | string | { reply?: string } | undefined;

export type StepInput = PluginMethods['steps.run']['params'];
/** Runs one workflow step of a type this plugin provides; returns the step's output. */
export type StepHandler<Settings extends PluginSettings = PluginSettings> = (
  input: StepInput,
  context: PluginContext<Settings>,
) => Promise<JsonValue> | JsonValue;

export type JobInput = PluginMethods['jobs.run']['params'];
/**
 * Runs one slot of a scheduled job. Kaiwa runs each slot on one instance only, within the manifest's
 * `limits.callTimeoutMs`; a slot missed while Kaiwa was down is not run later. A throw records the run failed.
 */
export type JobHandler<Settings extends PluginSettings = PluginSettings> = (
  input: JobInput,
  context: PluginContext<Settings>,
) => Promise<void> | void;

export type HttpRequest = PluginMethods['http.request']['params'];

/**
 * What a route handler answers. `status` defaults to 200; `content-type` to `text/plain; charset=utf-8` for a
 * string body and `application/json; charset=utf-8` for any other. Kaiwa allows only the headers
 * `content-type` (JSON or text), `cache-control`, `content-language`, `etag` and `last-modified`, and bodies up
 * to 512 KiB: any other answer reaches the caller as a 502.
 */
export interface HttpAnswer {
  status?: number;
  headers?: Record<string, string>;
  body?: JsonValue;
}

/** A route key as the manifest declares it: `"GET /items/:id"`. */
export type HttpRouteKey = `${HttpMethod} /${string}`;

/**
 * Answers an HTTP request to a route the manifest declares (`capabilities.httpRoutes`), served at
 * `/plugins/<id><path>` within `limits.callTimeoutMs`. `request.caller` is the signed-in user (Kaiwa checked
 * the session), or `null` on a `public: true` route called without one.
 */
export type HttpRouteHandler<Settings extends PluginSettings = PluginSettings> = (
  request: HttpRequest,
  context: PluginContext<Settings>,
) => Promise<HttpAnswer> | HttpAnswer;

export type MigrateInput = PluginMethods['migrate']['params'];
/**
 * Moves the plugin's stored data from an older version's shape to this one's, once per upgrade (Kaiwa calls
 * it after the new version started, within `limits.callTimeoutMs`). A throw, or taking longer, rolls the
 * upgrade back: the old version runs again with its folder as it was. Storage is shared by both versions, so
 * write what the old version can still read, or accept that a rollback after a partial migration sees it.
 */
export type MigrateHandler<Settings extends PluginSettings = PluginSettings> = (
  input: MigrateInput,
  context: PluginContext<Settings>,
) => Promise<void> | void;

export type MessageHandler<Settings extends PluginSettings = PluginSettings> = (
  message: PluginMessage,
  context: PluginContext<Settings>,
) => Promise<void> | void;

/**
 * A plugin's handlers, keyed by what the manifest declares: slash command names (without `/`), workflow step
 * types and scheduled job names. Registering one the manifest does not declare stops the plugin at start.
 */
export interface PluginDefinition<Settings extends PluginSettings = PluginSettings> {
  commands?: Record<string, CommandHandler<Settings>>;
  steps?: Record<string, StepHandler<Settings>>;
  /** Scheduled jobs by name, as `capabilities.scheduledJobs` declares them (the schedule is the manifest's). */
  jobs?: Record<string, JobHandler<Settings>>;
  /**
   * HTTP routes by `"METHOD /path"`, exactly as `capabilities.httpRoutes` declares them (`:name` segments are
   * path parameters, in `request.params`).
   */
  routes?: { [route: HttpRouteKey]: HttpRouteHandler<Settings> };
  /** New messages in rooms the plugin may read (needs `messageEvents` in the manifest). */
  onMessage?: MessageHandler<Settings>;
  /** Once, after Kaiwa's handshake. */
  onStart?(context: PluginContext<Settings>): Promise<void> | void;
  /** After an upgrade to this version, once: see {@link MigrateHandler}. */
  migrate?: MigrateHandler<Settings>;
}

/** Where the plugin reads Kaiwa's messages and writes its own. Defaults to the process's stdin and stdout. */
export interface PluginTransport {
  input: NodeJS.ReadableStream;
  output: { write(chunk: string): unknown };
}

export interface KaiwaPlugin<Settings extends PluginSettings = PluginSettings> {
  readonly definition: PluginDefinition<Settings>;
  /**
   * Serves Kaiwa on stdio until stdin ends. `console.log` and friends go to Kaiwa's log instead of stdout,
   * which belongs to the protocol.
   */
  listen(transport?: PluginTransport): void;
}

/** Calls to Kaiwa answer within this, or the handler sees an error (Kaiwa's own deadline is its side). */
const HOST_CALL_TIMEOUT_MS = 10_000;
/** `http.fetch` is bounded by Kaiwa (the plugin's call deadline, at most 120 s): wait a little longer. */
const HTTP_FETCH_TIMEOUT_MS = 125_000;
/**
 * Longest line taken from Kaiwa: an HTTP request carries a body of up to 1 MiB, which JSON escaping can make
 * several times longer.
 */
const MAX_LINE_BYTES = 8 * 1024 * 1024;

/**
 * Defines a Kaiwa plugin. Its entry file calls `listen()`; Kaiwa starts it with the manifest beside it.
 *
 * @example
 * import { definePlugin } from '@kaiwa/plugin-sdk';
 *
 * definePlugin({
 *   commands: { hello: ({ userId }) => `Hello, <@${userId}>!` },
 *   steps: { 'hello.greet': ({ input }) => ({ greeting: `Hello, ${String(input)}` }) },
 *   jobs: { digest: async ({ scheduledAt }, { storage }) => storage.set('last-digest', scheduledAt) },
 *   routes: { 'GET /items/:id': ({ params }) => ({ body: { id: params.id } }) },
 *   migrate: async ({ fromVersion }, { storage }) => storage.set('migrated-from', fromVersion),
 * }).listen();
 */
export function definePlugin<Settings extends PluginSettings = PluginSettings>(
  definition: PluginDefinition<Settings>,
): KaiwaPlugin<Settings> {
  return {
    definition,
    listen: (transport) => listen(definition, transport ?? { input: process.stdin, output: process.stdout }),
  };
}

function listen<Settings extends PluginSettings>(
  definition: PluginDefinition<Settings>,
  transport: PluginTransport,
): void {
  let context: PluginContext<Settings> | undefined;
  const peer: JsonRpcPeer = new JsonRpcPeer({
    send: (line) => transport.output.write(`${line}\n`),
    defaultTimeoutMs: HOST_CALL_TIMEOUT_MS,
    maxMessageBytes: MAX_LINE_BYTES,
    handle: async (method, params) => {
      if (method === 'initialize') {
        const init = params as PluginMethods['initialize']['params'];
        if (init.protocolVersion !== PROTOCOL_VERSION) {
          throw new JsonRpcError(
            RpcErrorCode.unsupportedProtocol,
            `this plugin speaks protocol ${PROTOCOL_VERSION}, not ${init.protocolVersion}`,
          );
        }
        context = createContext(peer, init.plugin, init.settings as Settings);
        await definition.onStart?.(context);
        return {
          protocolVersion: PROTOCOL_VERSION,
          commands: Object.keys(definition.commands ?? {}),
          stepTypes: Object.keys(definition.steps ?? {}),
          messageEvents: definition.onMessage !== undefined,
          jobs: Object.keys(definition.jobs ?? {}),
          httpRoutes: Object.keys(definition.routes ?? {}),
          migrate: definition.migrate !== undefined,
        } satisfies PluginMethods['initialize']['result'];
      }
      if (method === 'ping') return {};
      if (method === 'shutdown') {
        setImmediate(() => process.exit(0));
        return {};
      }
      if (!context) throw new JsonRpcError(RpcErrorCode.invalidRequest, 'not initialized');
      return dispatch(definition, context, method, params);
    },
  });
  transport.input.on('data', (chunk: Buffer | string) => peer.receive(chunk));
  transport.input.on('end', () => {
    peer.close('Kaiwa closed stdin');
    if (transport.input === process.stdin) process.exit(0);
  });
  if (transport.output === process.stdout) redirectConsole(peer);
}

async function dispatch<Settings extends PluginSettings>(
  definition: PluginDefinition<Settings>,
  context: PluginContext<Settings>,
  method: string,
  params: unknown,
): Promise<unknown> {
  switch (method) {
    case 'commands.run': {
      const input = params as CommandInput;
      const handler = definition.commands?.[input.command];
      if (!handler) throw new JsonRpcError(RpcErrorCode.methodNotFound, `no command "${input.command}"`);
      const answer = await handler(input, context);
      const reply = typeof answer === 'string' ? answer : answer?.reply;
      return reply === undefined ? {} : { reply };
    }
    case 'steps.run': {
      const input = params as StepInput;
      const handler = definition.steps?.[input.type];
      if (!handler) throw new JsonRpcError(RpcErrorCode.methodNotFound, `no step type "${input.type}"`);
      return { output: (await handler(input, context)) ?? null };
    }
    case 'jobs.run': {
      const input = params as JobInput;
      const handler = definition.jobs?.[input.job];
      if (!handler) throw new JsonRpcError(RpcErrorCode.methodNotFound, `no job "${input.job}"`);
      await handler(input, context);
      return {};
    }
    case 'http.request': {
      const request = params as HttpRequest;
      const handler = definition.routes?.[request.route as HttpRouteKey];
      if (!handler) throw new JsonRpcError(RpcErrorCode.methodNotFound, `no route "${request.route}"`);
      return httpResponseOf(await handler(request, context));
    }
    case 'migrate': {
      if (!definition.migrate) throw new JsonRpcError(RpcErrorCode.methodNotFound, 'no migration hook');
      const { fromVersion, toVersion } = params as MigrateInput;
      await definition.migrate({ fromVersion, toVersion }, context);
      return {};
    }
    case 'messages.created': {
      const { message } = params as PluginMethods['messages.created']['params'];
      await definition.onMessage?.(message, context);
      return {};
    }
    default:
      throw new JsonRpcError(RpcErrorCode.methodNotFound, `unknown method "${method}"`);
  }
}

/** The answer as the protocol carries it, with defaults filled in; one over Kaiwa's size limit is an error. */
function httpResponseOf(answer: HttpAnswer | undefined): PluginMethods['http.request']['result'] {
  const { status = 200, headers = {}, body } = answer ?? {};
  const named = Object.keys(headers).some((name) => name.toLowerCase() === 'content-type');
  const contentType: Record<string, string> =
    named || body === undefined
      ? {}
      : {
          'content-type':
            typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8',
        };
  if (body !== undefined) {
    // Checked here so that a large answer is an error for the caller, not a line Kaiwa stops the plugin for.
    const bytes = Buffer.byteLength(typeof body === 'string' ? body : JSON.stringify(body));
    if (bytes > HTTP_RESPONSE_BODY_LIMIT) {
      throw new JsonRpcError(
        RpcErrorCode.handlerFailed,
        `the answer's body is ${bytes} bytes, over the limit of ${HTTP_RESPONSE_BODY_LIMIT}`,
      );
    }
  }
  return { status, headers: { ...headers, ...contentType }, ...(body === undefined ? {} : { body }) };
}

function createContext<Settings extends PluginSettings>(
  peer: JsonRpcPeer,
  plugin: { id: string; version: string },
  settings: Settings,
): PluginContext<Settings> {
  const call = async <Method extends keyof HostMethods>(
    method: Method,
    params: HostMethods[Method]['params'],
  ): Promise<HostMethods[Method]['result']> =>
    (await peer.request(method, params)) as HostMethods[Method]['result'];
  const log =
    (level: LogLevel) =>
    (message: string, fields?: Record<string, JsonValue>): void =>
      peer.notify('log', fields === undefined ? { level, message } : { level, message, fields });
  return {
    plugin,
    settings,
    kaiwa: {
      postMessage: (input) => call('messages.post', input),
      readMessages: async (input) => (await call('messages.read', input)).messages,
    },
    storage: {
      get: async (key) => (await call('storage.get', { key })).value,
      set: async (key, value) => void (await call('storage.set', { key, value })),
      delete: async (key) => void (await call('storage.delete', { key })),
      list: async (prefix) => (await call('storage.list', prefix === undefined ? {} : { prefix })).keys,
    },
    log: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') },
    http: { fetch: (url, init) => fetchThroughKaiwa(peer, url, init) },
  };
}

async function fetchThroughKaiwa(
  peer: JsonRpcPeer,
  url: string,
  init: PluginFetchInit = {},
): Promise<PluginFetchResponse> {
  const body =
    init.body === undefined
      ? undefined
      : typeof init.body === 'string'
        ? Buffer.from(init.body, 'utf8')
        : Buffer.from(init.body.buffer, init.body.byteOffset, init.body.byteLength);
  // Checked here too: a larger body would make a line Kaiwa stops the plugin for.
  if (body && body.length > HTTP_FETCH_REQUEST_BODY_LIMIT) {
    throw new JsonRpcError(
      RpcErrorCode.httpFailed,
      `the request body is ${body.length} bytes, over the limit of ${HTTP_FETCH_REQUEST_BODY_LIMIT}`,
      { code: 'body_too_large' },
    );
  }
  const params: HostMethods['http.fetch']['params'] = {
    url,
    ...(init.method ? { method: init.method } : {}),
    ...(init.headers ? { headers: init.headers } : {}),
    // Base64 keeps the line's size known (JSON escaping could make text several times longer).
    ...(body ? { body: body.toString('base64'), bodyEncoding: 'base64' as const } : {}),
    ...(init.timeoutMs === undefined ? {} : { timeoutMs: init.timeoutMs }),
  };
  const answer = (await peer.request('http.fetch', params, {
    timeoutMs: HTTP_FETCH_TIMEOUT_MS,
  })) as HostMethods['http.fetch']['result'];
  const bytes = Buffer.from(answer.body, 'base64');
  return {
    status: answer.status,
    ok: answer.status >= 200 && answer.status < 300,
    headers: answer.headers,
    url: answer.url,
    redirected: answer.redirects > 0,
    bytes: async () => new Uint8Array(bytes),
    text: async () => bytes.toString('utf8'),
    json: async <T>() => JSON.parse(bytes.toString('utf8')) as T,
  };
}

// stdout carries the protocol: a stray console.log would break it, so the console goes to Kaiwa's log.
function redirectConsole(peer: JsonRpcPeer): void {
  const to =
    (level: LogLevel) =>
    (...values: unknown[]): void =>
      peer.notify('log', { level, message: format(...values) });
  console.log = to('info');
  console.info = to('info');
  console.debug = to('debug');
  console.warn = to('warn');
  console.error = to('error');
}
