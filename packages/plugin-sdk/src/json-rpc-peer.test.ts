import { describe, expect, it } from 'vitest';
import {
  JsonRpcClosedError,
  JsonRpcError,
  JsonRpcPeer,
  JsonRpcTimeoutError,
  type JsonRpcViolation,
} from './json-rpc-peer.js';

/** Two peers wired to each other in memory. */
function pair(options: { maxMessageBytes?: number } = {}) {
  const violations: JsonRpcViolation[] = [];
  const sentByA: string[] = [];
  let b: JsonRpcPeer | undefined;
  const a = new JsonRpcPeer({
    send: (line) => {
      sentByA.push(line);
      b?.receive(`${line}\n`);
    },
    handle: () => ({}),
    onViolation: (violation) => violations.push(violation),
    ...options,
  });
  b = new JsonRpcPeer({
    send: (line) => a.receive(`${line}\n`),
    handle: async (method, params) => {
      if (method === 'echo') return params;
      if (method === 'never') return new Promise(() => {});
      if (method === 'typed') throw new JsonRpcError(-32001, 'no', { capability: 'x' });
      throw new Error(`boom ${method}`);
    },
  });
  return { a, b, violations, sentByA };
}

describe('JsonRpcPeer', () => {
  it('answers requests, with typed and untyped errors', async () => {
    const { a } = pair();
    await expect(a.request('echo', { hello: 'world' })).resolves.toEqual({ hello: 'world' });
    await expect(a.request('typed', {})).rejects.toMatchObject({
      code: -32001,
      message: 'no',
      data: { capability: 'x' },
    });
    await expect(a.request('other', {})).rejects.toMatchObject({ code: -32003, message: 'boom other' });
  });

  it('rejects a call past its deadline with a typed timeout', async () => {
    const { a } = pair();
    const started = Date.now();
    const error = await a.request('never', {}, { timeoutMs: 50 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(JsonRpcTimeoutError);
    expect(error).toMatchObject({ method: 'never', timeoutMs: 50 });
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('takes lines split across chunks and several lines in one chunk', () => {
    const { a, violations } = pair();
    const got: unknown[] = [];
    const peer = new JsonRpcPeer({ send: () => {}, handle: (_method, params) => void got.push(params) });
    peer.receive('{"jsonrpc":"2.0","method":"n","params":1}\n{"jsonrpc":"2.0","me');
    peer.receive('thod":"n","params":2}\n');
    expect(got).toEqual([1, 2]);
    expect(violations).toEqual([]);
    a.close('done');
  });

  it('stops reading at a line over the size limit, without buffering it', () => {
    const violations: JsonRpcViolation[] = [];
    const peer = new JsonRpcPeer({
      send: () => {},
      handle: () => ({}),
      maxMessageBytes: 100,
      onViolation: (violation) => violations.push(violation),
    });
    peer.receive('x'.repeat(60));
    peer.receive('x'.repeat(60));
    expect(violations).toEqual([{ reason: 'message_too_large', bytes: 120 }]);
    expect(peer.closed).toBe(true);
  });

  it('reports garbage and stray answers, and never answers an answer', () => {
    const violations: JsonRpcViolation[] = [];
    const sent: string[] = [];
    const peer = new JsonRpcPeer({
      send: (line) => sent.push(line),
      handle: () => ({}),
      onViolation: (violation) => violations.push(violation),
    });
    peer.receive('not json\n');
    peer.receive('{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse error"}}\n');
    peer.receive('{"jsonrpc":"2.0","id":7,"result":{}}\n');
    expect(violations.map((violation) => violation.reason)).toEqual([
      'invalid_json',
      'unexpected_response',
      'unexpected_response',
    ]);
    expect(sent).toHaveLength(1);
  });

  it('rejects pending calls when closed', async () => {
    const { a } = pair();
    const pending = a.request('never', {});
    a.close('bye');
    await expect(pending).rejects.toBeInstanceOf(JsonRpcClosedError);
    await expect(a.request('echo', {})).rejects.toBeInstanceOf(JsonRpcClosedError);
  });
});
