import { Agent, request } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { LatencyHistogram } from './histogram.js';
import type { FromLoad, LoadChildConfig, RunPlan, RunResult, ToLoad } from './messages.js';
import { RawWebSocket } from './raw-ws.js';

/*
 * The load generator: N raw WebSocket clients in one room (raw-ws.ts), some of them sending at a set total
 * rate. Senders and receivers share this process and its clock, so latency is measured end to end
 * (send → receipt) without clock skew. Every message text starts with a marker `~~<sender>.<n>.<µs>~`;
 * receivers find markers with Buffer.indexOf instead of parsing JSON, which keeps this process cheap
 * enough to receive every delivery, count it per receiver and sender, and time it.
 *
 * Started by harness.ts; the config and then the commands arrive over IPC (messages.ts).
 */

const MAX_LIFETIME_MS = 15 * 60_000;
const HOST = '127.0.0.1';
const MARK = Buffer.from('~~');
const FRAME_START = Buffer.from('{"type":"');
const ERROR_TYPE = Buffer.from('"type":"error"');
const SUBSCRIBED_TYPE = Buffer.from('"type":"subscribed"');
const LOWER_A = 0x61;
const DOT = 0x2e;
const TILDE = 0x7e;
const ZERO = 0x30;

let config: LoadChildConfig;
const send = (message: FromLoad): void => {
  process.send?.(message);
};
setTimeout(() => process.exit(3), MAX_LIFETIME_MS).unref();
process.on('disconnect', () => process.exit(0));

const nowUs = (): number => Math.round(performance.now() * 1000);

// ---------------------------------------------------------------- state

let clients: RawWebSocket[] = [];
/** Client index of each sender (senders are spread evenly over the clients). */
let senderClients: number[] = [];
let senderCount = 0;
/** Per receiver × sender: the highest message number received. */
let lastSeen = new Int32Array(0);
/** Per sender: messages sent, and sends the server refused. */
let sent = new Int32Array(0);
let rejected = new Int32Array(0);
const errorCodes: Record<string, number> = {};
const closes: Record<string, number> = {};
let unique = 0;
let duplicated = 0;
let gaps = 0;
let received = 0;

const latency = new LatencyHistogram();
let windowStartMs = Number.POSITIVE_INFINITY;
let windowEndMs = Number.POSITIVE_INFINITY;
let windowStartUs = Number.POSITIVE_INFINITY;
let windowEndUs = Number.POSITIVE_INFINITY;
let windowDeliveries = 0;
let windowBytes = 0;
let measuring = false;

const padding = 'x'.repeat(70_000);

// ---------------------------------------------------------------- receiving

/** Finds every marker in `payload` and records the deliveries; on Kaiwa sender connections acks are skipped. */
function scan(receiver: number, payload: Buffer, receivedAt: number, isKaiwaSender: boolean): void {
  if (measuring && receivedAt >= windowStartMs && receivedAt < windowEndMs) windowBytes += payload.length + 4;
  let position = payload.indexOf(MARK);
  while (position !== -1) {
    let skip = false;
    if (isKaiwaSender) {
      // The sender also gets its own text back in the ack; only `message.created` events are deliveries.
      const frameStart = payload.lastIndexOf(FRAME_START, position);
      skip = frameStart !== -1 && payload[frameStart + FRAME_START.length] === LOWER_A;
    }
    if (!skip) position = deliver(receiver, payload, position + 2, receivedAt);
    position = payload.indexOf(MARK, position + 2);
  }
  if (isKaiwaSender && payload.includes(ERROR_TYPE)) noteErrors(receiver, payload);
}

/** Reads `<sender>.<n>.<µs>~` at `at`; returns the position of the closing `~`. */
function deliver(receiver: number, payload: Buffer, at: number, receivedAt: number): number {
  let index = at;
  let sender = 0;
  let number = 0;
  let sentAt = 0;
  for (let byte = payload[index]!; byte !== DOT; byte = payload[++index]!) sender = sender * 10 + byte - ZERO;
  for (let byte = payload[++index]!; byte !== DOT; byte = payload[++index]!)
    number = number * 10 + byte - ZERO;
  for (let byte = payload[++index]!; byte !== TILDE; byte = payload[++index]!)
    sentAt = sentAt * 10 + byte - ZERO;
  received += 1;
  const key = receiver * senderCount + sender;
  const last = lastSeen[key]!;
  if (number > last) {
    lastSeen[key] = number;
    unique += 1;
    if (number > last + 1) gaps += 1;
  } else duplicated += 1;
  if (measuring) {
    if (receivedAt >= windowStartMs && receivedAt < windowEndMs) windowDeliveries += 1;
    if (sentAt >= windowStartUs && sentAt < windowEndUs) latency.record(receivedAt * 1000 - sentAt);
  }
  return index - 1;
}

/** Kaiwa `error` answers to sends: counted by code, and the send is not expected anywhere. */
function noteErrors(receiver: number, payload: Buffer): void {
  const parsed = JSON.parse(payload.toString('utf8')) as unknown;
  const frames = (Array.isArray(parsed) ? parsed : [parsed]) as { type?: string; code?: string }[];
  const sender = senderClients.indexOf(receiver);
  for (const frame of frames) {
    if (frame.type !== 'error') continue;
    const code = frame.code ?? 'unknown';
    errorCodes[code] = (errorCodes[code] ?? 0) + 1;
    if (sender !== -1) rejected[sender]! += 1;
  }
}

// ---------------------------------------------------------------- connecting

async function openClient(index: number, isSender: boolean): Promise<RawWebSocket> {
  const port = config.ports?.[index % config.ports.length] ?? config.port;
  const client = await RawWebSocket.open({ host: HOST, port, path: config.path });
  await handshake(client, index);
  // From now on a close is something to report (4009 slow consumer, 1006 dropped …).
  client.onClose = (code) => {
    closes[String(code)] = (closes[String(code)] ?? 0) + 1;
  };
  if (config.system === 'socketio') {
    client.onFrame = (payload, receivedAt) => {
      // Engine.IO heartbeat: the server pings ("2"), the client answers ("3").
      if (payload.length === 1 && payload[0] === 0x32) client.sendText('3');
      else scan(index, payload, receivedAt, false);
    };
  } else {
    const checkAcks = isSender && config.system === 'kaiwa';
    client.onFrame = (payload, receivedAt) => scan(index, payload, receivedAt, checkAcks);
  }
  return client;
}

/** Authenticates and joins the room as each system wants it; resolves when deliveries will reach the client. */
function handshake(client: RawWebSocket, index: number): Promise<void> {
  if (config.system === 'ws' || config.system === 'uws') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`client ${index}: no answer to the handshake`)), 15_000);
    const done = (error?: Error): void => {
      clearTimeout(timer);
      client.onFrame = () => {};
      if (error) reject(error);
      else resolve();
    };
    client.onClose = (code) => done(new Error(`client ${index}: closed with ${code} during the handshake`));
    if (config.system === 'kaiwa') {
      const setup = config.setup!;
      client.onFrame = (payload) => {
        if (payload.includes(SUBSCRIBED_TYPE)) done();
        else if (payload.includes(ERROR_TYPE))
          done(new Error(`client ${index}: ${payload.toString('utf8')}`));
      };
      // Frames right behind `auth` are kept until it succeeds (docs/protocol.md).
      client.sendText(JSON.stringify({ type: 'auth', token: setup.tokens[index], presence: false }));
      client.sendText(JSON.stringify({ type: 'subscribe', id: 's', roomId: setup.roomId }));
    } else {
      client.onFrame = (payload) => {
        const text = payload.toString('utf8');
        if (text.startsWith('0{')) client.sendText('40');
        else if (text.startsWith('40')) done();
        else if (text.startsWith('44')) done(new Error(`client ${index}: ${text}`));
      };
    }
  });
}

async function connectAll(count: number, senders: number, concurrency: number): Promise<void> {
  if (config.system === 'kaiwa' && count > (config.setup?.tokens.length ?? 0)) {
    throw new Error(`${count} clients but only ${config.setup?.tokens.length ?? 0} users were prepared`);
  }
  senderCount = senders;
  senderClients = Array.from({ length: senders }, (_, ordinal) => Math.floor((ordinal * count) / senders));
  const isSender = new Set(senderClients);
  lastSeen = new Int32Array(count * Math.max(1, senders));
  sent = new Int32Array(senders);
  rejected = new Int32Array(senders);
  clients = new Array<RawWebSocket>(count);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const index = next++;
      clients[index] = await openClient(index, isSender.has(index));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

// ---------------------------------------------------------------- sending

function sendOne(ordinal: number): void {
  const number = ++sent[ordinal]!;
  const marker = `~~${ordinal}.${number}.${nowUs()}~`;
  const client = clients[senderClients[ordinal]!]!;
  switch (config.system) {
    case 'kaiwa': {
      const text = marker + padding.slice(0, Math.max(0, config.textLength - marker.length));
      client.sendText(
        `{"type":"send","id":${number},"roomId":"${config.setup!.roomId}","clientMessageId":"b${ordinal}-${number}","text":"${text}"}`,
      );
      return;
    }
    case 'ws':
    case 'uws':
      client.sendText(marker + padding.slice(0, Math.max(0, config.payloadBytes - marker.length)));
      return;
    case 'socketio': {
      // 42["m","…"]: 10 bytes of Engine.IO/Socket.IO framing around the text.
      const text = marker + padding.slice(0, Math.max(0, config.payloadBytes - 10 - marker.length));
      client.sendText(`42["m","${text}"]`);
      return;
    }
  }
}

function totalSent(): number {
  let total = 0;
  for (const count of sent) total += count;
  return total;
}

function expectedDeliveries(): number {
  let accepted = 0;
  for (let ordinal = 0; ordinal < senderCount; ordinal += 1) accepted += sent[ordinal]! - rejected[ordinal]!;
  return accepted * clients.length;
}

const sleep = (milliseconds: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, milliseconds));

/** Sends at `plan.rate` for warmup + measure, marks the window, then waits for the last deliveries. */
async function run(plan: RunPlan): Promise<RunResult> {
  const start = performance.now();
  const warmupEnd = start + plan.warmupMs;
  const sendEnd = warmupEnd + plan.measureMs;
  let sentAtStart = 0;
  let sentAtEnd = 0;
  let ordinal = 0;
  let sentThisRun = 0;
  let cpuAtStart = process.cpuUsage();
  const loopDelay = monitorEventLoopDelay({ resolution: 5 });
  let clientCpuPercent = 0;
  let clientLoopDelayP99Ms = 0;
  let backlogAtWindowEnd = 0;
  latency.reset();
  windowDeliveries = 0;
  windowBytes = 0;
  const stopRest = plan.rest ? startRestReads(plan.rest) : undefined;

  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = performance.now();
      if (!measuring && now >= warmupEnd && windowStartMs === Number.POSITIVE_INFINITY) {
        windowStartMs = warmupEnd;
        windowStartUs = Math.round(warmupEnd * 1000);
        windowEndMs = Number.POSITIVE_INFINITY;
        windowEndUs = Number.POSITIVE_INFINITY;
        measuring = true;
        sentAtStart = totalSent();
        cpuAtStart = process.cpuUsage();
        loopDelay.enable();
        send({ type: 'phase', phase: 'measure-start' });
      }
      if (now >= sendEnd) {
        windowEndMs = sendEnd;
        windowEndUs = Math.round(sendEnd * 1000);
        sentAtEnd = totalSent();
        const cpu = process.cpuUsage(cpuAtStart);
        clientCpuPercent = ((cpu.user + cpu.system) / 1000 / (now - windowStartMs)) * 100;
        loopDelay.disable();
        clientLoopDelayP99Ms = loopDelay.count > 0 ? loopDelay.percentile(99) / 1e6 : 0;
        backlogAtWindowEnd = Math.max(0, expectedDeliveries() - unique);
        send({ type: 'phase', phase: 'measure-end' });
        resolve();
        return;
      }
      if (senderCount > 0) {
        const due = Math.floor((plan.rate * (now - start)) / 1000) - sentThisRun;
        for (let count = 0; count < due; count += 1) {
          sendOne(ordinal);
          ordinal = (ordinal + 1) % senderCount;
          sentThisRun += 1;
        }
      }
      setTimeout(tick, 1);
    };
    tick();
  });

  const drainStart = performance.now();
  while (unique < expectedDeliveries() && performance.now() - drainStart < plan.drainMs) await sleep(10);
  const drainMs = performance.now() - drainStart;
  const rest = await stopRest?.();
  measuring = false;
  const measureSeconds = plan.measureMs / 1000;
  const expected = expectedDeliveries();
  const result: RunResult = {
    offeredRate: plan.rate,
    offeredDeliveries: plan.rate * clients.length,
    measureSeconds,
    sentInWindow: sentAtEnd - sentAtStart,
    deliveriesPerSecond: windowDeliveries / measureSeconds,
    latency: latency.summary(),
    backlogAtWindowEnd,
    sentTotal: totalSent(),
    rejectedSends: rejected.reduce((sum, count) => sum + count, 0),
    errors: { ...errorCodes },
    expectedDeliveries: expected,
    receivedDeliveries: received,
    lost: Math.max(0, expected - unique),
    duplicated,
    gaps,
    drainMs,
    closes: { ...closes },
    bytesPerDelivery: windowDeliveries > 0 ? windowBytes / windowDeliveries : Number.NaN,
    clientCpuPercent,
    clientLoopDelayP99Ms,
    ...(rest ? { rest } : {}),
  };
  windowStartMs = Number.POSITIVE_INFINITY;
  windowStartUs = Number.POSITIVE_INFINITY;
  return result;
}

// ---------------------------------------------------------------- REST reads (Kaiwa)

type RestOutcome = NonNullable<RunResult['rest']>;

/** GET the newest page of history every `intervalMs` (one at a time) as user 0, during the window. */
function startRestReads(options: { intervalMs: number; limit: number }): () => Promise<RestOutcome> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const histogram = new LatencyHistogram();
  const setup = config.setup!;
  let requests = 0;
  let failures = 0;
  let stopped = false;
  let inFlight: Promise<void> | undefined;
  const once = (): Promise<void> =>
    new Promise((resolve) => {
      const startedAt = performance.now();
      const counted = measuring && startedAt >= windowStartMs && startedAt < windowEndMs;
      const finish = (ok: boolean): void => {
        if (counted) {
          requests += 1;
          if (ok) histogram.record((performance.now() - startedAt) * 1000);
          else failures += 1;
        }
        resolve();
      };
      const call = request(
        {
          host: HOST,
          port: config.port,
          path: `/api/v1/rooms/${setup.roomId}/messages?limit=${options.limit}`,
          agent,
          headers: { authorization: `Bearer ${setup.tokens[0]}`, 'accept-encoding': 'br, gzip' },
        },
        (response) => {
          response.on('data', () => {});
          response.on('end', () => finish(response.statusCode === 200));
          response.on('error', () => finish(false));
        },
      );
      call.on('error', () => finish(false));
      call.end();
    });
  // One read at a time; a tick that finds the previous read still running skips.
  const timer = setInterval(() => {
    if (stopped || inFlight) return;
    inFlight = once().then(() => {
      inFlight = undefined;
    });
  }, options.intervalMs);
  return async () => {
    stopped = true;
    clearInterval(timer);
    await inFlight;
    agent.destroy();
    return { requests, failures, latency: histogram.summary() };
  };
}

// ---------------------------------------------------------------- commands

process.on('message', (message: ToLoad) => {
  const work = async (): Promise<void> => {
    switch (message.type) {
      case 'init':
        config = message.config;
        return;
      case 'connect': {
        const startedAt = performance.now();
        await connectAll(message.clients, message.senders, message.concurrency);
        send({ type: 'connected', clients: clients.length, millis: performance.now() - startedAt });
        return;
      }
      case 'run':
        send({ type: 'result', ...(await run(message)) });
        return;
      case 'close':
        for (const client of clients) client?.socket.destroy();
        setTimeout(() => process.exit(0), 50);
        return;
    }
  };
  work().catch((error: unknown) => {
    send({ type: 'fatal', message: String((error as Error)?.stack ?? error) });
    setTimeout(() => process.exit(1), 100);
  });
});
