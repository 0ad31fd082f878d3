import type { KyselyChatStore, StoreQueryEvent } from '@kaiwa/store-kysely';
import type { Population } from './workload.js';
import { storeSend } from './workload.js';

/**
 * The statements the store runs, captured through its `onQuery` hook, so the bare-driver baseline runs
 * exactly them: a send's transaction, the deferred indexer's batch (SQLite) and a history page.
 */
export interface CapturedStatements {
  nextSeq: string;
  insertMessage: string;
  appendEvent: string;
  /** Deferred indexer, SQLite only. */
  hasPending?: string;
  watermark?: string;
  pendingRows?: string;
  insertSearchRow?: string;
  moveWatermark?: string;
  pageMessages: string;
  pageReactions: string;
}

function find(list: string[], pattern: RegExp, what: string): string {
  const sql = list.find((statement) => pattern.test(statement));
  if (sql === undefined) throw new Error(`no ${what} statement among:\n${list.join('\n')}`);
  return sql;
}

/** Runs one send, one index flush and one page on `open(onQuery)`'s store and returns what it ran. */
export async function captureStatements(
  open: (onQuery: (event: StoreQueryEvent) => void) => Promise<KyselyChatStore>,
  population: Population,
): Promise<CapturedStatements> {
  let seen: string[] = [];
  const store = await open((event) => {
    seen.push(event.sql);
  });
  try {
    const roomId = population.roomIds[0]!;
    seen = [];
    await store.transaction((tx) => storeSend(tx, roomId, population.userIds[0]!, 'captured send'));
    const send = seen;
    if (send.length !== 5) throw new Error(`a send ran ${send.length} statements:\n${send.join('\n')}`);
    seen = [];
    await store.flushSearchIndex();
    const flush = seen;
    seen = [];
    await store.messages.page({ roomId, limit: 51 });
    const page = seen;
    const captured: CapturedStatements = {
      nextSeq: find(send, /^update "rooms"/, 'sequence'),
      insertMessage: find(send, /^insert into "messages"/, 'message insert'),
      appendEvent: find(send, /^insert into "room_events"/, 'event append'),
      pageMessages: find(page, /from "messages"/, 'history page'),
      pageReactions: find(page, /from "reactions"/, 'reactions'),
    };
    if (store.dialect === 'sqlite') {
      captured.hasPending = find(flush, /^select exists/, 'pending check');
      captured.watermark = find(flush, /^select indexed_row_id/, 'watermark');
      captured.pendingRows = find(flush, /from messages where row_id > \?/, 'pending rows');
      captured.insertSearchRow = find(flush, /^insert into message_search/, 'search row');
      captured.moveWatermark = find(flush, /^update message_search_state/, 'watermark move');
    }
    return captured;
  } finally {
    await store.close();
  }
}

/** The column names of an `insert into "t" ("a", "b") values (…)` statement, in order. */
export function insertColumns(sql: string): string[] {
  const list = /\(([^)]*)\)\s+values/.exec(sql)?.[1];
  if (list === undefined) throw new Error(`not an insert: ${sql}`);
  return list.split(',').map((column) => column.trim().replaceAll('"', '').replaceAll('`', ''));
}
