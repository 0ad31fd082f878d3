import { copyFileSync, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { ChatEngine, createId, type StoredMessage, searchDocument } from '@kaiwa/core';
import { createSqliteStore, type KyselyChatStore } from '@kaiwa/store-kysely';
import Database from 'better-sqlite3';
import { captureStatements, insertColumns } from './capture.js';
import { type BenchSettings, type DialectResult, elapsedSince, now, random, textPool } from './common.js';
import { createPopulation, fillPlan, loadPopulation } from './fixtures.js';
import {
  eventRow,
  measureHistory,
  measureWrites,
  messageRow,
  type Population,
  type Subject,
  sendPicker,
  storedMessage,
} from './workload.js';

/** Bump when the fill changes, so a stale cached file is not reused. */
const FILL_VERSION = 1;

/**
 * Fills a new SQLite file with the store's schema and `settings.messages` messages, their search rows
 * and their events, through better-sqlite3 in large transactions: minutes instead of hours.
 */
async function fill(file: string, settings: BenchSettings, log: (line: string) => void): Promise<void> {
  const start = new Date(Date.now() - 90 * 24 * 3600 * 1000);
  const store = await createSqliteStore({ filename: file });
  let population: Population;
  try {
    await store.migrate();
    population = await createPopulation(store, settings.users, settings.rooms, start.toISOString());
  } finally {
    await store.close();
  }
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  db.pragma('cache_size = -262144');
  const columns = Object.keys(messageRow(storedMessage('', '', '', 0, '', '')));
  const insertMessage = db.prepare(
    `insert into messages (${columns.join(', ')}) values (${columns.map(() => '?').join(', ')})`,
  );
  const insertSearchRow = db.prepare('insert into message_search (rowid, content) values (?, ?)');
  const insertEvent = db.prepare(
    'insert into room_events (room_id, seq, type, payload, created_at) values (?, ?, ?, ?, ?)',
  );
  const texts = textPool(50_000, 3);
  const plan = fillPlan(population, random(5));
  const seqs = new Array<number>(population.roomIds.length).fill(0);
  const stepMs = (Date.now() - 3600_000 - start.getTime()) / settings.messages;
  const chunk = 50_000;
  const began = now();
  for (let done = 0; done < settings.messages; done += chunk) {
    db.transaction(() => {
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
        const row = messageRow(message);
        const { lastInsertRowid } = insertMessage.run(...columns.map((column) => row[column]));
        insertSearchRow.run(lastInsertRowid, searchDocument(message.text));
        const event = eventRow(message);
        insertEvent.run(event.room_id, event.seq, event.type, event.payload, event.created_at);
      }
    })();
    if ((done / chunk) % 4 === 3)
      log(`  filled ${(done + chunk).toLocaleString('en')} (${elapsedSince(began).toFixed(0)} s)`);
  }
  db.transaction(() => {
    const update = db.prepare('update rooms set last_seq = ? where id = ?');
    for (const [index, roomId] of population.roomIds.entries()) update.run(seqs[index], roomId);
    db.prepare('update message_search_state set indexed_row_id = (select max(row_id) from messages)').run();
  })();
  db.exec("insert into message_search (message_search) values ('optimize')");
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.exec('analyze');
  db.close();
}

function removeDatabase(file: string): void {
  for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true });
}

/** The SQLite subject: a copy of the cached filled file, the store on it and a bare connection. */
async function openSubject(
  file: string,
  population: Population,
): Promise<{
  subject: Subject;
  store: KyselyChatStore;
  db: Database.Database;
  statements: Record<string, string>;
}> {
  // NORMAL, as in the published figures and the bare connection below; bench/storage/durability.ts
  // compares it with the store's default, FULL.
  const captured = await captureStatements(
    (onQuery) => createSqliteStore({ filename: file, onQuery, synchronous: 'normal' }),
    population,
  );
  const store = await createSqliteStore({ filename: file, synchronous: 'normal' });
  const engine = new ChatEngine({ store });
  // The bare connection, configured as the store configures its own.
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  const begin = db.prepare('begin immediate');
  const commit = db.prepare('commit');
  const nextSeq = db.prepare(captured.nextSeq);
  const insertMessage = db.prepare(captured.insertMessage);
  const messageColumns = insertColumns(captured.insertMessage);
  const appendEvent = db.prepare(captured.appendEvent);
  const eventColumns = insertColumns(captured.appendEvent);
  const hasPending = db.prepare(captured.hasPending!);
  const watermark = db.prepare(captured.watermark!);
  const pendingRows = db.prepare(captured.pendingRows!);
  const insertSearchRow = db.prepare(captured.insertSearchRow!);
  const moveWatermark = db.prepare(captured.moveWatermark!);
  const pageMessages = db.prepare(captured.pageMessages);
  const pageReactions = new Map<number, Database.Statement>();

  const pick = sendPicker(population, 13);
  const bareSend = (syncFts: boolean): StoredMessage => {
    const { roomId, authorId, text } = pick();
    const { last_seq: seq } = nextSeq.get(roomId) as { last_seq: number };
    const message = storedMessage(createId(), roomId, authorId, seq, text, new Date().toISOString());
    const row = messageRow(message);
    const { lastInsertRowid } = insertMessage.run(...messageColumns.map((column) => row[column]));
    if (syncFts) insertSearchRow.run(lastInsertRowid, searchDocument(text));
    const event = eventRow(message);
    appendEvent.run(...eventColumns.map((column) => event[column]));
    return message;
  };
  const inTransaction = (count: number, syncFts: boolean) => {
    begin.run();
    try {
      for (let i = 0; i < count; i++) bareSend(syncFts);
      commit.run();
    } catch (error) {
      db.exec('rollback');
      throw error;
    }
  };
  const BATCH_ROWS = 2_000;
  const subject: Subject = {
    bare: (count) => inTransaction(count, false),
    bareIndex() {
      if (!(hasPending.get() as { pending: number }).pending) return;
      for (;;) {
        begin.run();
        const { indexed_row_id: mark } = watermark.get() as { indexed_row_id: number };
        const rows = pendingRows.all(mark, BATCH_ROWS) as {
          row_id: number;
          text: string;
          deleted_at: string | null;
        }[];
        for (const row of rows) {
          if (row.deleted_at !== null) continue;
          const document = searchDocument(row.text);
          if (document !== '') insertSearchRow.run(row.row_id, document);
        }
        if (rows.length > 0) moveWatermark.run(rows[rows.length - 1]!.row_id);
        commit.run();
        if (rows.length < BATCH_ROWS) return;
      }
    },
    bareSyncFts: (count) => inTransaction(count, true),
    afterSyncFts() {
      db.prepare('update message_search_state set indexed_row_id = (select max(row_id) from messages)').run();
    },
    storeTransaction: (work) => store.transaction(work),
    flushStore: async () => {
      await store.flushSearchIndex();
    },
    engine,
    historyBare(roomId) {
      const rows = pageMessages.all(roomId, 51) as { id: string }[];
      let reactions = pageReactions.get(rows.length);
      if (reactions === undefined) {
        reactions = db.prepare(
          captured.pageReactions.replace(/in \([^)]*\)/, `in (${rows.map(() => '?').join(', ')})`),
        );
        pageReactions.set(rows.length, reactions);
      }
      return [rows, reactions.all(...rows.map((row) => row.id))];
    },
    historyStore: (roomId) => store.messages.page({ roomId, limit: 51 }),
  };

  // The bare send must write what the store writes: read one back through the store.
  begin.run();
  const check = bareSend(false);
  commit.run();
  const readBack = await store.messages.findById(check.id);
  if (!isDeepStrictEqual(readBack, { ...check, reactions: [] })) {
    throw new Error(
      `bare send stored something else:\n${JSON.stringify(readBack)}\n${JSON.stringify(check)}`,
    );
  }
  return { subject, store, db, statements: { ...captured } };
}

export interface SqliteBenchOptions {
  dataDir: string;
  log: (line: string) => void;
}

export async function benchSqlite(
  settings: BenchSettings,
  options: SqliteBenchOptions,
): Promise<DialectResult> {
  const { dataDir, log } = options;
  mkdirSync(dataDir, { recursive: true });
  const golden = join(
    dataDir,
    `storage-sqlite-${settings.messages}m-${settings.rooms}r-${settings.users}u-v${FILL_VERSION}.sqlite`,
  );
  let fillSeconds: number | null = null;
  const cached = existsSync(golden);
  if (!cached) {
    log(`SQLite: filling ${settings.messages.toLocaleString('en')} messages into ${golden}`);
    const building = `${golden}.building`;
    removeDatabase(building);
    const began = now();
    await fill(building, settings, log);
    fillSeconds = elapsedSince(began);
    renameSync(building, golden);
    log(`  filled in ${fillSeconds.toFixed(1)} s`);
  } else {
    log(`SQLite: reusing ${golden}`);
  }
  const work = join(dataDir, 'storage-sqlite-work.sqlite');
  removeDatabase(work);
  copyFileSync(golden, work);

  const loader = await createSqliteStore({ filename: work });
  let population: Population;
  let messages: number;
  try {
    population = await loadPopulation(loader);
    messages = Number(
      (
        await loader.db
          .selectFrom('messages')
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
  } finally {
    await loader.close();
  }
  const { subject, store, db, statements } = await openSubject(work, population);
  try {
    const version = (db.prepare('select sqlite_version() as v').get() as { v: string }).v;
    const inserts = await measureWrites(
      subject,
      population,
      settings,
      { single: settings.singleSends, batched: settings.batchedSends },
      log,
    );
    const history = await measureHistory(subject, population, settings, log);
    return {
      dialect: 'sqlite',
      messages,
      rooms: population.roomIds.length,
      fillSeconds,
      cached,
      databaseVersion: `SQLite ${version} (better-sqlite3, file, WAL, synchronous=NORMAL)`,
      inserts,
      history,
      statements,
    };
  } finally {
    db.close();
    await store.close();
    removeDatabase(work);
  }
}
