import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { runScenario, type ScenarioSpec } from './harness.js';
import { UWS_INSTALL_HINT, UWS_PACKAGE } from './messages.js';

/*
 * A smoke run of the realtime benchmark harness with tiny numbers: the same processes, clients and
 * bookkeeping as `npm run bench:realtime`, checked for exact delivery rather than speed.
 */

/** The uWebSockets.js baseline is no dependency: its smoke run needs `npm i --no-save uwebsockets`. */
const uwsInstalled = ((): boolean => {
  try {
    createRequire(import.meta.url).resolve(UWS_PACKAGE);
    return true;
  } catch {
    console.warn(UWS_INSTALL_HINT);
    return false;
  }
})();

const tiny = {
  clients: 5,
  senders: 2,
  // 50 messages in one second, every one delivered to all 5 clients (the senders included).
  rate: 50,
  warmupMs: 0,
  measureMs: 1_000,
  drainMs: 5_000,
  textLength: 100,
  payloadBytes: 640,
} satisfies Omit<ScenarioSpec, 'system'>;

// Both at once: this checks exact delivery, not speed, and it halves the time the test takes.
describe.concurrent('realtime benchmark harness', () => {
  it('delivers every message exactly once through Kaiwa, and stores each one', async () => {
    const result = await runScenario({ system: 'kaiwa', ...tiny, rest: { intervalMs: 100, limit: 50 } });
    const load = result.load;
    expect(load.sentTotal).toBeGreaterThanOrEqual(45);
    expect(load.rejectedSends).toBe(0);
    expect(load.lost).toBe(0);
    expect(load.duplicated).toBe(0);
    expect(load.gaps).toBe(0);
    expect(load.receivedDeliveries).toBe(load.sentTotal * tiny.clients);
    expect(load.latency.count).toBeGreaterThan(0);
    expect(result.server.storedMessages).toBe(load.sentTotal);
    expect(load.rest?.requests).toBeGreaterThan(0);
    expect(load.rest?.failures).toBe(0);
  });

  it('delivers every message exactly once through the bare ws broadcast', async () => {
    const result = await runScenario({ system: 'ws', ...tiny });
    const load = result.load;
    expect(load.sentTotal).toBeGreaterThanOrEqual(45);
    expect(load.lost).toBe(0);
    expect(load.duplicated).toBe(0);
    expect(load.receivedDeliveries).toBe(load.sentTotal * tiny.clients);
    expect(load.bytesPerDelivery).toBeGreaterThan(tiny.payloadBytes);
  });

  it.skipIf(!uwsInstalled)('delivers every message exactly once through uWebSockets.js pub/sub', async () => {
    const result = await runScenario({ system: 'uws', ...tiny });
    const load = result.load;
    expect(load.sentTotal).toBeGreaterThanOrEqual(45);
    expect(load.lost).toBe(0);
    expect(load.duplicated).toBe(0);
    expect(load.receivedDeliveries).toBe(load.sentTotal * tiny.clients);
  });
});
