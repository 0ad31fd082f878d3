import { JsonRpcError, RpcErrorCode } from '@kaiwa/plugin-sdk';
import { describe, expect, it } from 'vitest';
import { type CapabilityDenial, createHostApi } from './host-api.js';
import { parsePluginManifest } from './manifest.js';
import { createFakePorts } from './test-support/fake-ports.js';

function api(capabilities: object) {
  const manifest = parsePluginManifest({
    id: 'probe',
    version: '1.0.0',
    engines: { kaiwa: '*' },
    entry: 'plugin.mjs',
    capabilities,
  });
  const { ports, posted } = createFakePorts([
    { id: 'room-general', name: 'general', pluginIsMember: false },
    { id: 'room-added', pluginIsMember: true },
    { id: 'room-private', pluginIsMember: false },
  ]);
  const denials: CapabilityDenial[] = [];
  const handle = createHostApi({
    manifest,
    ports,
    settings: { mode: 'loud' },
    onLog: () => {},
    onDenied: (denial) => denials.push(denial),
  });
  return { handle, posted, denials, ports };
}

const rpcError = (code: number, message: RegExp | string) =>
  expect.objectContaining({ constructor: JsonRpcError, code, message: expect.stringMatching(message) });

describe('the host API a plugin calls', () => {
  it('answers an unknown method and bad params with JSON-RPC errors', async () => {
    const { handle } = api({});
    await expect(handle('users.list', {})).rejects.toEqual(
      rpcError(RpcErrorCode.methodNotFound, 'unknown method'),
    );
    await expect(handle('__proto__', {})).rejects.toEqual(
      rpcError(RpcErrorCode.methodNotFound, 'unknown method'),
    );
    await expect(handle('messages.post', { roomId: 'room-general' })).rejects.toEqual(
      rpcError(RpcErrorCode.invalidParams, /^invalid params: text/),
    );
  });

  it('lets a plugin post only in rooms named (by id or name) or, when declared, rooms it was added to', async () => {
    const { handle, posted, denials } = api({
      messages: { post: { rooms: ['general'], roomsAddedTo: true } },
    });
    await handle('messages.post', { roomId: 'room-general', text: 'a' });
    await handle('messages.post', { roomId: 'room-added', text: 'b' });
    await expect(handle('messages.post', { roomId: 'room-private', text: 'c' })).rejects.toMatchObject({
      code: RpcErrorCode.capabilityDenied,
      data: { capability: 'messages.post' },
    });
    await expect(handle('messages.read', { roomId: 'room-general' })).rejects.toMatchObject({
      code: RpcErrorCode.capabilityDenied,
      message: 'the manifest does not declare messages.read',
    });
    expect(posted.map((message) => message.text)).toEqual(['a', 'b']);
    expect(denials.map((denial) => denial.capability)).toEqual(['messages.post', 'messages.read']);
  });

  it('keeps storage within the quota, and refuses it without one', async () => {
    const { handle, ports } = api({ storage: { quotaBytes: 20 } });
    await handle('storage.set', { key: 'k', value: 'x'.repeat(10) });
    await expect(handle('storage.set', { key: 'k2', value: 'x'.repeat(10) })).rejects.toMatchObject({
      code: RpcErrorCode.quotaExceeded,
    });
    // Replacing a value counts only the difference.
    await handle('storage.set', { key: 'k', value: 'y'.repeat(15) });
    expect(await ports.storage.usage('probe')).toBe(18);
    expect(await handle('storage.list', {})).toEqual({ keys: ['k'] });
    await handle('storage.delete', { key: 'k' });
    expect(await handle('storage.get', { key: 'k' })).toEqual({ value: null });
    // A key the store refuses is the plugin's mistake, named in the answer.
    await expect(handle('storage.set', { key: 'a\u0000b', value: 1 })).rejects.toMatchObject({
      code: RpcErrorCode.invalidParams,
      message: expect.stringContaining('key'),
    });
    const none = api({});
    await expect(none.handle('storage.get', { key: 'k' })).rejects.toMatchObject({
      code: RpcErrorCode.capabilityDenied,
      data: { capability: 'storage' },
    });
  });

  it('gives the plugin its settings', async () => {
    expect(await api({}).handle('settings.get', {})).toEqual({ settings: { mode: 'loud' } });
  });
});
