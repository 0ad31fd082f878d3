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
  shutdown: { params: Record<string, never>; result: Record<string, never> };
}

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
  /** A notification (no answer). */
  log: {
    params: { level: LogLevel; message: string; fields?: Record<string, JsonValue> };
    result: undefined;
  };
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

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
} as const;
