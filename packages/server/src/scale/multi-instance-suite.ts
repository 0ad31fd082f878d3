import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Frame, range, seqs, TestClient, until } from '../realtime/test-support.js';
import {
  createPostgresDatabase,
  Instance,
  type PrivateServer,
  randomSecret,
  removeNatsPresenceBucket,
  startNatsServer,
  startRedisServer,
} from './scale-test-support.js';

type BusKind = 'redis' | 'nats';

const ENVIRONMENT = {
  redis: { variable: 'KAIWA_TEST_REDIS_URL', example: 'redis://127.0.0.1:6379' },
  nats: { variable: 'KAIWA_TEST_NATS_URL', example: 'nats://127.0.0.1:4222' },
} as const;

/** One client's view of the room: the room events it received, over all its connections. */
class Member {
  connections: TestClient[] = [];
  constructor(
    readonly token: string,
    readonly roomId: string,
  ) {}

  get current(): TestClient {
    const client = this.connections.at(-1);
    if (!client) throw new Error('not connected');
    return client;
  }

  events(): Frame[] {
    return this.connections.flatMap((client) =>
      client.frames.filter((frame) => frame.roomId === this.roomId && 'seq' in frame),
    );
  }

  lastSeq(fallback: number): number {
    return (this.events().at(-1)?.seq as number | undefined) ?? fallback;
  }

  /** Connects to `instance` and subscribes from `lastSeq` (a resume when it has seen events already). */
  async join(instance: Instance, lastSeq: number): Promise<void> {
    const client = await TestClient.as(instance.webSocketUrl, this.token, { presence: false });
    this.connections.push(client);
    const answer = await client.request({ type: 'subscribe', roomId: this.roomId, lastSeq });
    if (answer.type !== 'subscribed') throw new Error(`subscribe failed: ${JSON.stringify(answer)}`);
  }

  /** Sends `count` messages one after the other, each waiting for its ack. */
  async send(count: number, label: string, pauseMs = 0): Promise<void> {
    for (let index = 0; index < count; index += 1) {
      const ack = await this.current.request(
        {
          type: 'send',
          roomId: this.roomId,
          text: `${label} ${index}`,
          clientMessageId: `${label}-${index}`,
        },
        10_000,
      );
      if (ack.type !== 'ack') throw new Error(`send failed: ${JSON.stringify(ack)}`);
      if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.connections.map((client) => client.close()));
  }
}

/** Every member has exactly the events after `base` up to `last`, in order, none twice. */
async function expectComplete(
  members: Member[],
  base: number,
  last: number,
  timeoutMs = 15_000,
): Promise<void> {
  await until(() => members.every((member) => member.events().length >= last - base), timeoutMs).catch(
    () => undefined,
  );
  for (const [index, member] of members.entries()) {
    expect(seqs(member.events()), `member ${index}`).toEqual(range(base + 1, last));
  }
}

/**
 * Several server instances in child processes sharing one PostgreSQL database and one bus: clients spread
 * over them see every message once and in order, also when an instance dies and when the bus server
 * restarts. Run by one test file per bus kind.
 */
export function multiInstanceSuite(kind: BusKind): void {
  const pgUrl = process.env.KAIWA_TEST_PG_URL || undefined;
  const busUrl = process.env[ENVIRONMENT[kind].variable] || undefined;
  const skip = !pgUrl
    ? 'set KAIWA_TEST_PG_URL=postgres://postgres@127.0.0.1:5432/test to run them'
    : !busUrl
      ? `set ${ENVIRONMENT[kind].variable}=${ENVIRONMENT[kind].example} to run them`
      : undefined;
  if (skip) console.info(`[server instances on ${kind}] skipped: ${skip}`);

  describe.skipIf(skip !== undefined)(`server instances on ${kind} and PostgreSQL`, () => {
    let database: { url: string; drop(): Promise<void> };
    let broker: PrivateServer | undefined;
    const instances: Instance[] = [];
    const members: Member[] = [];
    const secret = randomSecret();
    const sharedChannels: string[] = [];

    const startInstances = async (count: number, bus: string): Promise<Instance[]> => {
      const channel = `kaiwa_t_${randomBytes(5).toString('hex')}`;
      if (bus === busUrl) sharedChannels.push(channel);
      // The first one alone: it migrates the schema and creates the first admin.
      const first = await Instance.start({ databaseUrl: database.url, bus, channel, jwtSecret: secret });
      const rest = await Promise.all(
        Array.from({ length: count - 1 }, () =>
          Instance.start({ databaseUrl: database.url, bus, channel, jwtSecret: secret }),
        ),
      );
      instances.push(first, ...rest);
      return [first, ...rest];
    };

    beforeAll(async () => {
      database = await createPostgresDatabase(pgUrl!);
    });
    afterAll(async () => {
      await Promise.all(members.map((member) => member.close()));
      await Promise.all(instances.map((instance) => instance.stop()));
      await broker?.stop();
      await database?.drop();
      if (kind === 'nats') {
        for (const channel of sharedChannels) await removeNatsPresenceBucket(busUrl!, channel);
      }
    });

    it('delivers every message from every instance to every client in order, once, even when one instance is killed', async () => {
      const [a, b, c] = await startInstances(3, busUrl!);
      if (!a || !b || !c) throw new Error('three instances expected');
      expect((await a.ready()).body).toEqual({ status: 'ready', bus: kind });
      const setup = await a.prepare(6, `spread-${kind}`);
      const spread = [a, b, c, a, b, c];
      const room = setup.tokens.map((token) => new Member(token, setup.roomId));
      members.push(...room);
      await Promise.all(room.map((member, index) => member.join(spread[index]!, setup.lastSeq)));

      // Everyone sends at once, from every instance.
      await Promise.all(room.map((member, index) => member.send(15, `m${index}`)));
      const afterBurst = setup.lastSeq + 6 * 15;
      await expectComplete(room, setup.lastSeq, afterBurst);

      // Presence crosses instances: user 1 is connected to b only, and a client on a sees it online.
      const presence = await room[0]!.current.request({
        type: 'presence.query',
        userIds: [setup.userIds[1]],
      });
      expect(presence.statuses).toEqual({ [setup.userIds[1]!]: 'online' });

      // Now c dies mid-stream; its clients resume on a and b from the last sequence number they saw.
      const senders = [room[0]!, room[1]!, room[3]!, room[4]!];
      const sending = Promise.all(senders.map((member, index) => member.send(25, `k${index}`, 5)));
      await until(() => room[0]!.events().length >= 6 * 15 + 20, 10_000);
      await c.kill();
      const orphans = [room[2]!, room[5]!];
      await Promise.all(orphans.map((member) => member.current.closed));
      await Promise.all(
        orphans.map((member, index) => member.join(index === 0 ? a : b, member.lastSeq(setup.lastSeq))),
      );
      await sending;
      await expectComplete(room, setup.lastSeq, afterBurst + 4 * 25);
    }, 120_000); // three server processes started through tsx: slow on a busy 2-core machine

    it('reconnects by itself after the bus server restarts; what was sent meanwhile reaches everyone once', async () => {
      broker = await (kind === 'redis' ? startRedisServer() : startNatsServer());
      const [a, b] = await startInstances(2, broker.url);
      if (!a || !b) throw new Error('two instances expected');
      const setup = await a.prepare(4, `outage-${kind}`);
      const room = setup.tokens.map((token) => new Member(token, setup.roomId));
      members.push(...room);
      await Promise.all(room.map((member, index) => member.join(index % 2 === 0 ? a : b, setup.lastSeq)));

      await Promise.all([room[0]!.send(5, 'before-a'), room[1]!.send(5, 'before-b')]);
      await expectComplete(room, setup.lastSeq, setup.lastSeq + 10);

      await broker.kill();
      await until(async () => (await a.ready()).status === 503 && (await b.ready()).status === 503, 10_000);
      // The store still takes messages; the bus cannot carry them across now.
      await Promise.all([room[0]!.send(5, 'during-a'), room[1]!.send(5, 'during-b')]);
      await broker.start();
      await until(async () => (await a.ready()).status === 200 && (await b.ready()).status === 200, 15_000);
      await expectComplete(room, setup.lastSeq, setup.lastSeq + 20);

      await Promise.all([room[2]!.send(5, 'after-a'), room[3]!.send(5, 'after-b')]);
      await expectComplete(room, setup.lastSeq, setup.lastSeq + 30);
    }, 120_000); // three server processes started through tsx: slow on a busy 2-core machine
  });
}
