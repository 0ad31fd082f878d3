import { KaiwaError, PluginStorageQuotaError } from '@kaiwa/core';
import {
  type HostMethods,
  JsonRpcError,
  type JsonValue,
  type PluginSettings,
  RpcErrorCode,
} from '@kaiwa/plugin-sdk';
import { z } from 'zod';
import { PluginError } from './errors.js';
import type { PluginManifest } from './manifest.js';
import { createOutboundHttp, type OutboundDenial } from './outbound-http.js';
import type { PluginHostPorts, PluginRoom } from './plugin-host-ports.js';

const roomId = z.string().min(1).max(200);
const key = z.string().min(1).max(256);
const json: z.ZodType<JsonValue> = z.json();

// Everything a plugin sends is checked: it is never trusted, whatever the SDK would send.
const paramsSchemas = {
  'messages.post': z.strictObject({
    roomId,
    text: z.string().min(1).max(40_000),
    threadRootId: z.string().min(1).max(200).optional(),
  }),
  'messages.read': z.strictObject({ roomId, limit: z.int().min(1).max(100).default(20) }),
  'storage.get': z.strictObject({ key }),
  'storage.set': z.strictObject({ key, value: json }),
  'storage.delete': z.strictObject({ key }),
  'storage.list': z.strictObject({ prefix: z.string().max(256).optional() }),
  'settings.get': z.strictObject({}),
  'http.fetch': z.strictObject({
    url: z
      .string()
      .max(8_192)
      .refine((value) => URL.canParse(value), 'an absolute URL'),
    method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']).default('GET'),
    headers: z
      .record(
        z.string().regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,256}$/, 'an HTTP header name'),
        z
          .string()
          .max(8_192)
          .regex(/^[\t\x20-\x7e\x80-\xff]*$/, 'no control characters'),
      )
      .refine((headers) => Object.keys(headers).length <= 100, 'at most 100 headers')
      .default({}),
    // 1 MiB as base64, plus room; the decoded size is checked against the limit.
    body: z.string().max(1_500_000).optional(),
    bodyEncoding: z.enum(['utf8', 'base64']).default('utf8'),
    timeoutMs: z.int().min(1).max(120_000).optional(),
  }),
  log: z.strictObject({
    level: z.enum(['debug', 'info', 'warn', 'error']),
    message: z.string().max(8_000),
    fields: z.record(z.string(), json).optional(),
  }),
} satisfies { [Method in keyof HostMethods]: z.ZodType };

/** A call the manifest does not allow, as reported to the supervisor's listeners. */
export interface CapabilityDenial {
  method: string;
  /** The capability that would allow it, e.g. `messages.post:room-42`. */
  capability: string;
  message: string;
}

export interface HostApiOptions {
  manifest: PluginManifest;
  ports: PluginHostPorts;
  settings: PluginSettings;
  onLog(entry: HostMethods['log']['params']): void;
  onDenied(denial: CapabilityDenial): void;
  /** Outbound HTTP limits other than the manifest's (tests); defaults in `createOutboundHttp`. */
  outboundHttp?: { maxConcurrent?: number; maxPerMinute?: number };
}

/** Whether the room is in the manifest's scope: named by id or name, or one the plugin's bot user is in. */
export function roomInScope(
  scope: { rooms: string[]; roomsAddedTo: boolean } | undefined,
  room: PluginRoom,
): boolean {
  if (!scope) return false;
  if (scope.rooms.includes(room.id) || (room.name !== undefined && scope.rooms.includes(room.name)))
    return true;
  return scope.roomsAddedTo && room.pluginIsMember;
}

/**
 * The handler of every call a plugin makes: checks the parameters, then the manifest's capabilities, then calls
 * Kaiwa through the ports. A denied call answers with JSON-RPC error `capabilityDenied` naming the capability,
 * and is reported through `onDenied`.
 */
export function createHostApi(options: HostApiOptions) {
  const { manifest, ports, settings } = options;
  const pluginId = manifest.id;
  const deny = (method: string, capability: string, message: string): never => {
    options.onDenied({ method, capability, message });
    throw new JsonRpcError(RpcErrorCode.capabilityDenied, message, { capability });
  };
  const room = async (method: string, action: 'read' | 'post', id: string): Promise<void> => {
    const scope = manifest.capabilities.messages[action];
    const capability = `messages.${action}`;
    if (!scope) deny(method, capability, `the manifest does not declare ${capability}`);
    const found = await ports.describeRoom({ pluginId, roomId: id });
    // An unknown room is denied like a forbidden one, so a plugin cannot probe which rooms exist.
    if (!found || !roomInScope(scope, found))
      deny(method, capability, `${capability} is not declared for room ${id}`);
  };
  const storage = (method: string): number => {
    const quotaBytes = manifest.capabilities.storage.quotaBytes;
    if (quotaBytes === 0) deny(method, 'storage', 'the manifest declares no storage quota');
    return quotaBytes;
  };

  const fetchOutbound = createOutboundHttp({
    ...options.outboundHttp,
    pluginId,
    outbound: manifest.capabilities.network.outbound,
    timeoutMs: manifest.limits.callTimeoutMs,
  });
  const outbound = async (method: string, request: HostMethods['http.fetch']['params']) => {
    if (manifest.capabilities.network.outbound.length === 0) {
      deny(
        method,
        'network.outbound',
        'the manifest declares no outbound hosts (capabilities.network.outbound)',
      );
    }
    try {
      return await fetchOutbound(request);
    } catch (error) {
      if (!PluginError.isInstance(error)) throw error;
      if (error.code === 'capability_denied' || error.code === 'address_denied') {
        const capability = (error as Partial<OutboundDenial>).capability ?? 'network.outbound';
        options.onDenied({ method, capability, message: error.message });
        throw new JsonRpcError(RpcErrorCode.capabilityDenied, error.message, {
          capability,
          code: error.code,
        });
      }
      throw new JsonRpcError(RpcErrorCode.httpFailed, error.message, { code: error.code });
    }
  };

  // A key the store refuses (a NUL, a lone surrogate) is the plugin's mistake: invalid params, naming the field.
  const stored = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      if (KaiwaError.isInstance(error) && error.code === 'validation_failed') {
        throw new JsonRpcError(RpcErrorCode.invalidParams, `invalid params: ${error.message}`);
      }
      throw error;
    }
  };

  return async (method: string, rawParams: unknown): Promise<unknown> => {
    if (!Object.hasOwn(paramsSchemas, method)) {
      throw new JsonRpcError(RpcErrorCode.methodNotFound, `unknown method "${method}"`);
    }
    const parsed = paramsSchemas[method as keyof typeof paramsSchemas].safeParse(rawParams ?? {});
    if (!parsed.success) {
      const first = parsed.error.issues[0];
      throw new JsonRpcError(
        RpcErrorCode.invalidParams,
        `invalid params: ${first ? `${first.path.join('.') || '(root)'}: ${first.message}` : 'invalid'}`,
      );
    }
    const params = parsed.data;
    switch (method as keyof HostMethods) {
      case 'log': {
        options.onLog(params as HostMethods['log']['params']);
        return undefined;
      }
      case 'settings.get':
        return { settings };
      case 'http.fetch':
        return outbound(method, params as HostMethods['http.fetch']['params']);
      case 'messages.post': {
        const input = params as HostMethods['messages.post']['params'];
        await room(method, 'post', input.roomId);
        return ports.postMessage({ pluginId, ...input });
      }
      case 'messages.read': {
        const input = params as { roomId: string; limit: number };
        await room(method, 'read', input.roomId);
        return { messages: await ports.readMessages({ pluginId, ...input }) };
      }
      case 'storage.get': {
        storage(method);
        const value = await stored(() => ports.storage.get(pluginId, (params as { key: string }).key));
        return { value: value ?? null };
      }
      case 'storage.set': {
        const quotaBytes = storage(method);
        const input = params as { key: string; value: JsonValue };
        try {
          await stored(() => ports.storage.set(pluginId, input.key, input.value, { quotaBytes }));
        } catch (error) {
          if (PluginStorageQuotaError.isInstance(error)) {
            throw new JsonRpcError(RpcErrorCode.quotaExceeded, error.message, {
              code: 'quota_exceeded',
              quotaBytes,
            });
          }
          throw error;
        }
        return {};
      }
      case 'storage.delete':
        storage(method);
        await stored(() => ports.storage.delete(pluginId, (params as { key: string }).key));
        return {};
      case 'storage.list':
        storage(method);
        return {
          keys: await stored(() => ports.storage.list(pluginId, (params as { prefix?: string }).prefix)),
        };
    }
  };
}
