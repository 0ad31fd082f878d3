import { describe, expect, it } from 'vitest';
import { backoffMs, RealtimeConnection, realtimeUrl } from './realtime-connection.js';

describe('realtimeUrl', () => {
  it('turns a server origin into its WebSocket URL', () => {
    expect(realtimeUrl('https://chat.example.com')).toBe('wss://chat.example.com/ws');
    expect(realtimeUrl('http://127.0.0.1:3000/')).toBe('ws://127.0.0.1:3000/ws');
  });

  it('needs an absolute server outside a page', () => {
    expect(() => realtimeUrl('')).toThrow(/absolute baseUrl/);
  });
});

describe('backoffMs', () => {
  it('doubles from half a second up to 15 s, with up to 30 % jitter', () => {
    expect([1, 2, 3, 10].map((attempt) => backoffMs(attempt, () => 0))).toEqual([500, 1000, 2000, 15_000]);
    expect(backoffMs(1, () => 1)).toBe(650);
  });
});

describe('RealtimeConnection', () => {
  it('says what to pass when the runtime has no WebSocket', () => {
    const owner = {
      token: async () => 'token',
      authenticationFailed: async () => false,
      ready: () => {},
      frame: () => {},
      status: () => {},
    };
    const scope = globalThis as { WebSocket?: unknown };
    const saved = scope.WebSocket;
    delete scope.WebSocket;
    try {
      expect(() => new RealtimeConnection('ws://localhost/ws', owner).start()).toThrow(/pass one/);
    } finally {
      if (saved !== undefined) scope.WebSocket = saved;
    }
  });
});
