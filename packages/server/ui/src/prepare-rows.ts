import type { Message } from '@kaiwa/protocol';
import { formatFull, formatShortTime, formatTime } from './format';
import { parseMessage } from './markdown/parse-message';

/*
 * What a message's row needs before it can be shown — its markdown parsed, its times formatted — worked out
 * in idle time as messages arrive, newest first, so that rendering a row (a page scrolled into view, the
 * room opened again) finds both cached instead of doing them inside the frame that shows it. A page of
 * older history arriving during a scroll-back is the case this is for: its rows are shown a few frames
 * later, when the reader gets there.
 */

/**
 * At most this long at a time (ms), however long the browser says it will stay idle: a response arriving
 * meanwhile (the page the reader waits for) is handled after at most that delay. And leave the idle period
 * with this much of it unused: one message's work fits well inside it.
 */
const SLICE_MS = 6;
const SPARE_MS = 2;

const queue: Message[] = [];
const prepared = new WeakSet<Message>();
let scheduled = false;

/** Queues the messages not prepared yet; the last ones (the newest) are done first. */
export function prepareRows(messages: readonly Message[]): void {
  for (const message of messages) {
    if (prepared.has(message)) continue;
    prepared.add(message);
    queue.push(message);
  }
  schedule();
}

function schedule(): void {
  if (scheduled || queue.length === 0) return;
  scheduled = true;
  if (typeof requestIdleCallback === 'function') requestIdleCallback(work);
  else setTimeout(() => work(undefined), 16);
}

function work(deadline: IdleDeadline | undefined): void {
  scheduled = false;
  const until = performance.now() + SLICE_MS;
  do {
    const message = queue.pop();
    if (!message) break;
    if (message.deletedAt === null) parseMessage(message.text);
    formatFull(message.createdAt);
    formatTime(message.createdAt);
    formatShortTime(message.createdAt);
  } while (performance.now() < until && (!deadline || deadline.timeRemaining() > SPARE_MS));
  schedule();
}
