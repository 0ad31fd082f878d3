import { isDeepStrictEqual } from 'node:util';
import { ChatEngine, createId, type StoredMessage, searchDocument } from '@kaiwa/core';
import { createPostgresStore, type KyselyChatStore, type StoreQueryEvent } from '@kaiwa/store-kysely';
import pg from 'pg';
import { postgresTsvector } from '../../packages/adapters/store-kysely/src/search-syntax.js';
import { captureStatements, insertColumns } from './capture.js';
import { type BenchSettings, type DialectResult, elapsedSince, now, random, textPool } from './common.js';
import { createPopulation, fillPlan, loadPopulation } from './fixtures.js';
import {
  eventRow,
  measureHistory,
  measureWrites,
  messageRow,
  type Subject,
  sendPicker,
  storedMessage,
} from './workload.js';

const FILL_VERSION = 1;

/** The store's message row plus PostgreSQL's search vector, written with the message there. */
function postgresMessageRow(message: StoredMessage): Record<string, unknown> {
  return {
    ...messageRow(message),
    search_vector: postgresTsvector(message.deletedAt === null ? searchDocument(message.text) : ''),
  };
}

const CASTS: Record<string, string> = { seq: 'integer', reply_count: 'integer', search_vector: 'tsvector' };

/** `insert … select … from unnest($1::text[], …)`: thousands of rows per round trip. */
function bulkInsert(table: string, columns: string[]): string {
  const selected = columns.map((column) => (CASTS[column] ? `${column}::${CASTS[column]}` : column));
  const arrays = columns.map((_, index) => `$${index + 1}::text[]`);
  return `insert into ${table} (${columns.join(', ')}) select ${selected.join(', ')} from unnest(${arrays.join(', ')}) as t(${columns.join(', ')})`;
}

async function fill(
  pool: pg.Pool,
  store: KyselyChatStore,
  settings: BenchSettings,
  log: (line: string) => void,
): Promise<void> {
  const start = new Date(Date.now() - 90 * 24 * 3600 * 1000);
  await store.migrate();
  const population = await createPopulation(store, settings.users, settings.rooms, start.toISOString());
  const client = await pool.connect();
  try {
    // Building the GIN index once at the end is far cheaper than a million incremental updates.
    const index = await client.query<{ indexdef: string }>(
      "select indexdef from pg_indexes where schemaname = current_schema() and indexname = 'messages_search'",
    );
    await client.query('drop index messages_search');
    await client.query('set synchronous_commit = off');
    const columns = Object.keys(postgresMessageRow(storedMessage('', '', '', 0, '', '')));
    const eventColumns = Object.keys(eventRow(storedMessage('', '', '', 0, '', '')));
    const insertMessages = bulkInsert('messages', columns);
    const insertEvents = bulkInsert('room_events', eventColumns);
    const texts = textPool(50_000, 3);
    const plan = fillPlan(population, random(5));
    const seqs = new Array<number>(population.roomIds.length).fill(0);
    const stepMs = (Date.now() - 3600_000 - start.getTime()) / settings.messages;
    const chunk = 5_000;
    const began = now();
    for (let done = 0; done < settings.messages; done += chunk) {
      const messageArrays = columns.map(() => [] as unknown[]);
      const eventArrays = eventColumns.map(() => [] as unknown[]);
      for (let i = done; i < Math.min(done + chunk, settings.messages); i++) {
        const { roomIndex, authorId } = plan();
        seqs[roomIndex]! += 1;
        const time = start.getTime() + i * stepMs;
        const message = storedMessage(
          createId(time),
          population.roomIds[roomIndex]!,
          authorId,
          seqs[roomIndex]!,
          texts[i % texts.length]!,
          new Date(time).toISOString(),
        );
        const row = postgresMessageRow(message);
        columns.forEach((column, c) => {
          messageArrays[c]!.push(row[column] === null ? null : String(row[column]));
        });
        const event = eventRow(message);
        eventColumns.forEach((column, c) => {
          eventArrays[c]!.push(String(event[column]));
        });
      }
      await client.query('begin');
      await client.query(insertMessages, messageArrays);
      await client.query(insertEvents, eventArrays);
      await client.query('commit');
      if ((done / chunk) % 40 === 39) {
        log(`  filled ${(done + chunk).toLocaleString('en')} (${elapsedSince(began).toFixed(0)} s)`);
      }
    }
    for (const [index, roomId] of population.roomIds.entries()) {
      await client.query('update rooms set last_seq = $1 where id = $2', [seqs[index], roomId]);
    }
    log(`  building the search index (${elapsedSince(began).toFixed(0)} s)`);
    await client.query("set maintenance_work_mem = '1GB'");
    await client.query(index.rows[0]!.indexdef);
    await client.query('vacuum analyze messages');
    await client.query('vacuum analyze room_events');
  } finally {
    client.release();
  }
}

export interface PostgresBenchOptions {
  url: string;
  /** Keep the filled schema for the next run (and reuse a kept one). */
  keep: boolean;
  /** The measured store's `preparedStatements` option. */
  preparedStatements: boolean;
  log: (line: string) => void;
}

export async function benchPostgres(
  settings: BenchSettings,
  options: PostgresBenchOptions,
): Promise<DialectResult> {
  const { url, keep, preparedStatements, log } = options;
  const schema = `kaiwa_bench_storage_${settings.messages}`;
  const marker = `kaiwa storage bench v${FILL_VERSION}: ${settings.messages} messages, ${settings.rooms} rooms, ${settings.users} users`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  const poolOptions = { connectionString: url, options: `-c search_path=${schema}` };
  let fillSeconds: number | null = null;
  let cached = false;
  let ready = false;
  let pool: pg.Pool | undefined;
  let bare: pg.Client | undefined;
  let store: KyselyChatStore | undefined;
  try {
    const existing = await admin.query<{ comment: string | null }>(
      'select obj_description(oid, $1) as comment from pg_namespace where nspname = $2',
      ['pg_namespace', schema],
    );
    cached = keep && existing.rows[0]?.comment === marker;
    if (!cached) {
      await admin.query(`drop schema if exists ${schema} cascade`);
      await admin.query(`create schema ${schema}`);
      log(`PostgreSQL: filling ${settings.messages.toLocaleString('en')} messages into schema ${schema}`);
      const fillPool = new pg.Pool({ ...poolOptions, max: 2 });
      const fillStore = await createPostgresStore({ pool: fillPool });
      const began = now();
      try {
        await fill(fillPool, fillStore, settings, log);
      } finally {
        await fillStore.close();
      }
      fillSeconds = elapsedSince(began);
      log(`  filled in ${fillSeconds.toFixed(1)} s`);
      ready = true;
    } else {
      log(`PostgreSQL: reusing schema ${schema}`);
      ready = true;
    }
    const version = (await admin.query<{ v: string }>("select current_setting('server_version') as v"))
      .rows[0]!.v;

    pool = new pg.Pool({ ...poolOptions, max: 10 });
    store = await createPostgresStore({ pool, preparedStatements });
    const population = await loadPopulation(store);
    const messages = Number(
      (
        await store.db
          .selectFrom('messages')
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
    const captured = await captureStatements(
      (onQuery: (event: StoreQueryEvent) => void) =>
        createPostgresStore({ pool: new pg.Pool({ ...poolOptions, max: 2 }), onQuery }),
      population,
    );
    bare = new pg.Client(poolOptions);
    await bare.connect();
    const client = bare;
    const messageColumns = insertColumns(captured.insertMessage);
    const eventColumns = insertColumns(captured.appendEvent);
    const pick = sendPicker(population, 13);
    const bareSend = async (): Promise<StoredMessage> => {
      const { roomId, authorId, text } = pick();
      const seqRows = await client.query<{ last_seq: string }>({
        name: 'next_seq',
        text: captured.nextSeq,
        values: [roomId],
      });
      const message = storedMessage(
        createId(),
        roomId,
        authorId,
        Number(seqRows.rows[0]!.last_seq),
        text,
        new Date().toISOString(),
      );
      const row = postgresMessageRow(message);
      await client.query({
        name: 'insert_message',
        text: captured.insertMessage,
        values: messageColumns.map((column) => row[column]),
      });
      const event = eventRow(message);
      await client.query({
        name: 'append_event',
        text: captured.appendEvent,
        values: eventColumns.map((column) => event[column]),
      });
      return message;
    };
    const engine = new ChatEngine({ store });
    const openStore = store;
    const subject: Subject = {
      async bare(count) {
        await client.query('begin');
        try {
          for (let i = 0; i < count; i++) await bareSend();
          await client.query('commit');
        } catch (error) {
          await client.query('rollback');
          throw error;
        }
      },
      storeTransaction: (work) => openStore.transaction(work),
      flushStore: async () => {},
      engine,
      async historyBare(roomId) {
        const rows = await client.query<{ id: string }>({
          name: 'page_messages',
          text: captured.pageMessages,
          values: [roomId, 51],
        });
        const ids = rows.rows.map((row) => row.id);
        const reactions = await client.query({
          name: `page_reactions_${ids.length}`,
          text: captured.pageReactions.replace(
            /in \([^)]*\)/,
            `in (${ids.map((_, index) => `$${index + 1}`).join(', ')})`,
          ),
          values: ids,
        });
        return [rows.rows, reactions.rows];
      },
      historyStore: (roomId) => openStore.messages.page({ roomId, limit: 51 }),
    };

    await client.query('begin');
    const check = await bareSend();
    await client.query('commit');
    const readBack = await store.messages.findById(check.id);
    if (!isDeepStrictEqual(readBack, { ...check, reactions: [] })) {
      throw new Error(
        `bare send stored something else:\n${JSON.stringify(readBack)}\n${JSON.stringify(check)}`,
      );
    }

    const inserts = await measureWrites(
      subject,
      population,
      settings,
      { single: settings.postgresSingleSends, batched: settings.postgresBatchedSends },
      log,
    );
    const history = await measureHistory(subject, population, settings, log);
    const sync = (await admin.query<{ s: string }>("select current_setting('synchronous_commit') as s"))
      .rows[0]!.s;
    return {
      dialect: 'postgres',
      messages,
      rooms: population.roomIds.length,
      fillSeconds,
      cached,
      databaseVersion: `PostgreSQL ${version} (local, TCP, synchronous_commit=${sync}, store ${preparedStatements ? 'with' : 'without'} prepared statements)`,
      inserts,
      history,
      statements: { ...captured },
    };
  } finally {
    await bare?.end();
    await store?.close();
    if (keep && ready) {
      await admin.query(`comment on schema ${schema} is '${marker.replaceAll("'", "''")}'`);
    } else {
      await admin.query(`drop schema if exists ${schema} cascade`);
    }
    await admin.end();
  }
}
