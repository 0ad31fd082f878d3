import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { createHashedNgramTestEmbedding } from '../../packages/knowledge/src/hashed-ngram-test-embedding.js';
import { startTestServer as startModelServer } from '../../packages/llm/src/test-support/start-test-server.js';
import { loadConfig } from '../../packages/server/src/config.js';
import { startTestServer } from '../../packages/server/src/test-support.js';

/*
 * npm run bench:rag:assistant [-- --messages 2000 --asks 30 --dimensions 384]
 *
 * What knowledge adds to an assistant answer (issue 15): a real server (SQLite with sqlite-vec, in-process
 * bus) whose assistant talks to @kaiwa/llm's OpenAI-compatible test server (the `cite` model: it answers
 * with a sentence of the sources in its prompt, or "I was given no sources."), and a room with knowledge on
 * holding --messages messages, indexed through the real path (the hashed n-gram test embedding, in
 * process, --dimensions wide). The same question is asked in that room and in a room without knowledge,
 * taking turns; each ask is timed from the REST send to the assistant's answer being stored. The
 * difference is what knowledge adds: embedding the question, the filtered search (vectors, the engine's
 * message search, documents' full text), fusing, and the longer prompt. A real embedding model adds its
 * own time to embed the question (one request), which the test embedding does not show.
 */

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '2000' },
    asks: { type: 'string', default: '30' },
    dimensions: { type: 'string', default: '384' },
  },
});
const messageCount = Number(values.messages);
const asks = Number(values.asks);
const dimensions = Number(values.dimensions);

const WORDS = (
  'backup key safe rack server deploy release invoice budget meeting harbour lighthouse quarry gravel ' +
  'boiler reception printer badge parking lunch friday monday rollout database migration index cache ' +
  'ticket customer contract renewal laptop password vpn office kitchen coffee heating window alarm'
).split(' ');

function sentence(seed: number): string {
  let state = seed * 2654435761;
  const next = () => {
    state = (state ^ (state >>> 13)) * 1274126177;
    return Math.abs(state) % WORDS.length;
  };
  const words = Array.from({ length: 12 }, () => WORDS[next()] as string);
  return `Note ${seed}: the ${words.slice(0, 6).join(' ')} and ${words.slice(6).join(' ')}.`;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

const modelServer = await startModelServer();
const { assistant } = loadConfig({
  // The assistant's per-person limit (10 questions a minute by default) would refuse most asks here.
  env: {
    KAIWA_LLM_BASE_URL: modelServer.baseURL,
    KAIWA_LLM_MODEL: 'cite',
    KAIWA_ASSISTANT_RATE_LIMIT: '10000',
  },
});
const test = await startTestServer(
  { assistant },
  { embedder: createHashedNgramTestEmbedding({ dimensions }) },
);
try {
  const { token, user } = await test.signedIn('member');
  const room = async (name: string, knowledge: boolean): Promise<string> => {
    const id = (await test.call('POST', '/api/v1/rooms', { token, body: { kind: 'channel', name } })).json()
      .id as string;
    if (knowledge) {
      const set = await test.call('PUT', `/api/v1/rooms/${id}/knowledge`, {
        token,
        body: { messages: true, files: false },
      });
      if (set.statusCode !== 200) throw new Error(`knowledge not turned on: ${set.body}`);
    }
    return id;
  };
  const withKnowledge = await room('with-knowledge', true);
  const without = await room('without-knowledge', false);

  const seedStart = performance.now();
  for (let index = 0; index < messageCount; index++) {
    const text =
      index === messageCount >> 1 ? 'The backup key is kept in the red safe by the rack.' : sentence(index);
    await test.server.engine.sendMessage(user.id, { roomId: withKnowledge, text });
    await test.server.engine.sendMessage(user.id, { roomId: without, text });
  }
  const seeded = performance.now();
  await test.server.knowledge?.idle();
  const indexed = performance.now();
  const { chunks } = (await test.call('GET', '/api/v1/knowledge', { token })).json() as { chunks: number };

  const botId = test.server.assistant?.botUser.id as string;
  const ask = async (roomId: string): Promise<{ ms: number; text: string }> => {
    const started = performance.now();
    const asked = await test.call('POST', `/api/v1/rooms/${roomId}/messages`, {
      token,
      body: { text: '@assistant where is the backup key kept?' },
    });
    if (asked.statusCode !== 201) throw new Error(`ask failed: ${asked.body}`);
    await test.server.assistant?.idle();
    const ms = performance.now() - started;
    const page = await test.server.engine.history(user.id, { roomId, limit: 5 });
    const reply = page.messages.find(
      (message) => message.authorId === botId && message.replyToId === asked.json().id,
    );
    // An ask without its answer measured nothing.
    if (!reply) throw new Error(`no answer to the question in ${roomId}`);
    return { ms, text: reply.text };
  };
  // Warm-up: the first answer of each room loads code and opens the model server's connection.
  await ask(withKnowledge);
  await ask(without);
  const times = { with: [] as number[], without: [] as number[] };
  let sample = '';
  for (let turn = 0; turn < asks; turn++) {
    const order = turn % 2 === 0 ? ([withKnowledge, without] as const) : ([without, withKnowledge] as const);
    for (const roomId of order) {
      const { ms, text } = await ask(roomId);
      (roomId === withKnowledge ? times.with : times.without).push(ms);
      if (roomId === withKnowledge) sample = text;
    }
  }
  times.with.sort((a, b) => a - b);
  times.without.sort((a, b) => a - b);
  const row = (label: string, list: number[]) =>
    `| ${label} | ${percentile(list, 50).toFixed(1)} | ${percentile(list, 95).toFixed(1)} |`;
  console.log(
    `\nbench:rag:assistant — ${new Date().toISOString()}, Node ${process.version}, ${cpus().length} cores, ` +
      `load ${loadavg()
        .map((value) => value.toFixed(1))
        .join(' / ')}`,
  );
  console.log(
    `${messageCount} messages in the knowledge room (${chunks} passages indexed), ` +
      `seeded in ${((seeded - seedStart) / 1000).toFixed(1)} s, indexed ${((indexed - seeded) / 1000).toFixed(1)} s later; ` +
      `${asks} asks per room, taking turns; ${dimensions}-dimension test embedding`,
  );
  console.log('\n| room | answer p50 ms | answer p95 ms |\n| --- | ---: | ---: |');
  console.log(row('with knowledge', times.with));
  console.log(row('without knowledge', times.without));
  console.log(
    `\nadded by knowledge: p50 ${(percentile(times.with, 50) - percentile(times.without, 50)).toFixed(1)} ms, ` +
      `p95 ${(percentile(times.with, 95) - percentile(times.without, 95)).toFixed(1)} ms`,
  );
  console.log(`a sample answer: ${JSON.stringify(sample.slice(0, 200))}`);
} finally {
  await test.close();
  await modelServer.stop();
}
