import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { batchLength, EncodedFrame, frameText, joinBatch, writableSocketOf } from './encoded-frame.js';

describe('encoded frames', () => {
  let server: WebSocketServer | undefined;

  afterEach(async () => {
    await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
    server = undefined;
  });

  it('joins payloads as a JSON array', () => {
    const payloads = [Buffer.from('{"a":1}'), Buffer.from('{"b":2}'), Buffer.from('3')];
    expect(batchLength(payloads)).toBe(joinBatch(payloads).length);
    expect(JSON.parse(joinBatch(payloads).toString())).toEqual([{ a: 1 }, { b: 2 }, 3]);
  });

  it('builds frames a ws client reads, with 7-bit, 16-bit and 64-bit lengths', async () => {
    server = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const accepted = once(server, 'connection') as Promise<[WebSocket]>;
    const client = new WebSocket(`ws://127.0.0.1:${port}`);
    const [serverSide] = await accepted;
    await once(client, 'open');
    const received: string[] = [];
    client.on('message', (data: Buffer) => received.push(data.toString()));

    // ws has not changed its internals: the direct path is taken, not the fallback.
    const socket = writableSocketOf(serverSide);
    expect(socket).toBeDefined();
    const texts = ['', 'x'.repeat(125), 'y'.repeat(126), 'z'.repeat(65_535), 'w'.repeat(70_000)];
    for (const text of texts) socket!.write(new EncodedFrame(Buffer.from(JSON.stringify(text))).wire);
    const parts = [Buffer.from('"first"'), Buffer.from(JSON.stringify('v'.repeat(80_000)))];
    socket!.write(frameText(parts, batchLength(parts)));
    serverSide.send('"after, through ws"');
    while (received.length < texts.length + 2) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(received.slice(0, texts.length).map((each) => JSON.parse(each))).toEqual(texts);
    expect(JSON.parse(received[texts.length]!)).toEqual(['first', 'v'.repeat(80_000)]);
    expect(received[texts.length + 1]).toBe('"after, through ws"');
    client.close();
    await once(client, 'close');
  });
});
