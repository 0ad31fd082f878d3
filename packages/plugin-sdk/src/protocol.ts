/**
 * The wire protocol between Kaiwa and a plugin: JSON-RPC 2.0, one JSON object per line on the plugin's stdin
 * (Kaiwa to plugin) and stdout (plugin to Kaiwa); stderr is free text for crash reports. Kaiwa opens with
 * `initialize`, naming {@link PROTOCOL_VERSION}; a plugin that speaks another version answers with an error and
 * is not started. A new version is added beside the old one, never changed in place.
 */
export const PROTOCOL_VERSION = 1;

/** Any value JSON can carry. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** Settings as the admin saved them, checked against the manifest's settings schema by Kaiwa. */
export type PluginSettings = Record<string, string | number | boolean>;

/** A chat message as a plugin sees it. */
export interface PluginMessage {
  id: string;
  roomId: string;
  authorId: string;
  text: string;
  threadRootId?: string;
  /** ISO 8601. */
  createdAt: string;
}

/** The methods Kaiwa calls on a plugin, with their parameters and results. */
export interface PluginMethods {
  initialize: {
    params: {
      protocolVersion: number;
      plugin: { id: string; version: string };
      settings: PluginSettings;
    };
    result: {
      protocolVersion: number;
      /** What the plugin registered; Kaiwa refuses anything its manifest does not declare. */
      commands: string[];
      stepTypes: string[];
      messageEvents: boolean;
      /**
       * Scheduled jobs it has handlers for (`capabilities.scheduledJobs` names). Optional within version 1: a
       * plugin built before jobs existed leaves it out and is taken to have none.
       */
      jobs?: string[];
      /**
       * HTTP routes it has handlers for, as `"METHOD /path"` keys of `capabilities.httpRoutes`. Optional within
       * version 1, like `jobs`: a plugin that leaves it out serves none.
       */
      httpRoutes?: string[];
      /**
       * Whether it has a migration hook (`migrate`). Optional within version 1, like `jobs`: a plugin that
       * leaves it out has none, and an upgrade to it migrates nothing.
       */
      migrate?: boolean;
    };
  };
  ping: { params: Record<string, never>; result: Record<string, never> };
  'commands.run': {
    params: { command: string; args: string; roomId: string; userId: string; threadRootId?: string };
    result: { reply?: string };
  };
  'steps.run': { params: { type: string; input: JsonValue; runId?: string }; result: { output: JsonValue } };
  'messages.created': { params: { message: PluginMessage }; result: Record<string, never> };
  /**
   * Runs one slot of a scheduled job the manifest declares; Kaiwa calls it on one instance per slot, with the
   * plugin's call deadline. `scheduledAt` is the slot's time (UTC, ISO 8601), the same on every instance.
   */
  'jobs.run': { params: { job: string; scheduledAt: string }; result: Record<string, never> };
  /**
   * Answers one HTTP request to a route the manifest declares, served under `/plugins/<id>/`; Kaiwa calls it
   * with the plugin's call deadline and checks the answer before anyone sees it.
   */
  'http.request': { params: PluginHttpRequest; result: PluginHttpResponse };
  /**
   * Once after an upgrade, when the new version has started and before it serves anything else: it moves its
   * stored data from `fromVersion`'s shape to its own. Kaiwa calls it with the plugin's call deadline; an
   * error or a timeout rolls the upgrade back to the old version.
   */
  migrate: { params: { fromVersion: string; toVersion: string }; result: Record<string, never> };
  shutdown: { params: Record<string, never>; result: Record<string, never> };
}

/** The methods a manifest's `capabilities.httpRoutes` may declare. */
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * An HTTP request as a plugin sees it. Kaiwa passes only what is listed here: never the caller's
 * `Authorization` header, cookies or any other header.
 */
export interface PluginHttpRequest {
  /** The declared route that matched, as its key: `"GET /items/:id"`. */
  route: string;
  method: HttpMethod;
  /** The path under `/plugins/<id>`, as requested (percent-encoded): `/items/42`. */
  path: string;
  /** The route's `:name` segments, decoded: `{ id: '42' }`. */
  params: Record<string, string>;
  /** The query string; a name given twice has a list. */
  query: Record<string, string | string[]>;
  /** The request's `content-type`, `accept` and `user-agent`, where sent; no other header. */
  headers: { 'content-type'?: string; accept?: string; 'user-agent'?: string };
  /**
   * The caller as Kaiwa resolved them from their session or API key; `null` on a route the manifest declares
   * `public: true` when the caller did not sign in.
   */
  caller: { userId: string; username: string; role: string } | null;
  /** A JSON body parsed, a text body as text (at most 1 MiB); absent without a body. */
  body?: JsonValue;
}

/**
 * A plugin's answer to an HTTP request. Kaiwa refuses (502 to the caller) an answer whose status is not
 * 200–599, whose headers are not on its allow-list (`content-type`, `cache-control`, `content-language`,
 * `etag`, `last-modified`: never cookies, CSP or CORS), whose content type is not JSON or plain text (nothing a
 * browser would run on Kaiwa's origin), or whose body is over {@link HTTP_RESPONSE_BODY_LIMIT}.
 */
export interface PluginHttpResponse {
  status: number;
  headers?: Record<string, string>;
  /** A string is sent as it is; any other value as JSON. */
  body?: JsonValue;
}

/** The largest body of a plugin's HTTP answer, in bytes as serialised (UTF-8). */
export const HTTP_RESPONSE_BODY_LIMIT = 512 * 1024;

/** The methods a plugin calls on Kaiwa. Each is checked against the plugin's manifest before it runs. */
export interface HostMethods {
  'messages.post': {
    params: { roomId: string; text: string; threadRootId?: string };
    result: { messageId: string };
  };
  'messages.read': { params: { roomId: string; limit?: number }; result: { messages: PluginMessage[] } };
  'storage.get': { params: { key: string }; result: { value: JsonValue | null } };
  'storage.set': { params: { key: string; value: JsonValue }; result: Record<string, never> };
  'storage.delete': { params: { key: string }; result: Record<string, never> };
  'storage.list': { params: { prefix?: string }; result: { keys: string[] } };
  'settings.get': { params: Record<string, never>; result: { settings: PluginSettings } };
  /**
   * An outbound HTTP request, made by Kaiwa for the plugin (plugins have no network of their own). The URL's
   * scheme, host and port must be declared in `capabilities.network.outbound`, and so must every redirect hop
   * (Kaiwa follows at most 5). Body at most 1 MiB; the answer at most 5 MiB (else an error, never cut); hop-by-hop
   * and cookie headers are dropped both ways. Errors: `capabilityDenied` (undeclared, `data.capability` names
   * it; a declared name resolving to a private address, `data.code` `address_denied`), `httpFailed` with
   * `data.code` `body_too_large`, `rate_limited` or `http_failed`.
   */
  'http.fetch': { params: OutboundHttpRequest; result: OutboundHttpResponse };
  /** A notification (no answer). */
  log: {
    params: { level: LogLevel; message: string; fields?: Record<string, JsonValue> };
    result: undefined;
  };
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** The largest request body of `http.fetch`, in bytes once decoded. */
export const HTTP_FETCH_REQUEST_BODY_LIMIT = 1024 * 1024;
/** The largest answer body Kaiwa reads for `http.fetch`; a larger answer is an error (`body_too_large`), never cut. */
export const HTTP_FETCH_RESPONSE_BODY_LIMIT = 5 * 1024 * 1024;
/** Redirects `http.fetch` follows, each hop checked against the manifest like the first. */
export const HTTP_FETCH_MAX_REDIRECTS = 5;

/** The methods `http.fetch` sends. */
export type OutboundHttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS';

/** A plugin's outbound HTTP request (`http.fetch`). */
export interface OutboundHttpRequest {
  /** Absolute `https:` URL (or `http:` where the manifest declares `http://host`). */
  url: string;
  /** Default `GET`. */
  method?: OutboundHttpMethod;
  headers?: Record<string, string>;
  /** At most 1 MiB once decoded. */
  body?: string;
  /** How `body` is written; default `utf8`. */
  bodyEncoding?: 'utf8' | 'base64';
  /** At most the plugin's call deadline (`limits.callTimeoutMs`), which is also the default; redirects included. */
  timeoutMs?: number;
}

/** The answer to `http.fetch`, after any redirects. */
export interface OutboundHttpResponse {
  status: number;
  /** Lower-case names; no hop-by-hop headers, no `set-cookie`. */
  headers: Record<string, string>;
  /** The body, base64. */
  body: string;
  /** The URL that answered (after redirects). */
  url: string;
  redirects: number;
}

/** JSON-RPC error codes: the standard ones, and Kaiwa's in the range JSON-RPC leaves to applications. */
export const RpcErrorCode = {
  parseError: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  invalidParams: -32602,
  internalError: -32603,
  /** The manifest does not declare the capability; `data.capability` names it. */
  capabilityDenied: -32001,
  /** The plugin's key-value storage quota would be exceeded. */
  quotaExceeded: -32002,
  /** The handler threw; `message` is its message. */
  handlerFailed: -32003,
  /** Too many calls at once. */
  busy: -32004,
  /** The protocol versions do not match. */
  unsupportedProtocol: -32005,
  /** An outbound HTTP request failed or broke a limit; `data.code` says which (`body_too_large`, `rate_limited`, `http_failed`). */
  httpFailed: -32006,
} as const;
