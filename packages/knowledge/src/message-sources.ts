import type { Message } from '@kaiwa/core';

/**
 * Where a chat message's knowledge is kept: a thread (its root and replies, embedded together so a
 * question and its answers stay in one chunk), or one hour of a room's main timeline. Both are
 * deterministic — the same message always belongs to the same sources, whether a room is indexed whole or
 * message by message as people write — so an edit or a delete re-indexes exactly the sources it touched and
 * nothing is indexed twice.
 */
export type MessageSource =
  | { kind: 'thread'; roomId: string; rootId: string; sourceId: string }
  | { kind: 'timeline-hour'; roomId: string; hourStart: number; sourceId: string };

const HOUR_MS = 3_600_000;

/** The hour of a room's main timeline starting at `hourStart` (ms since the epoch, a whole hour). */
export function timelineHour(roomId: string, createdAt: string | number): MessageSource {
  const time = typeof createdAt === 'number' ? createdAt : Date.parse(createdAt);
  const hourStart = Math.floor(time / HOUR_MS) * HOUR_MS;
  return {
    kind: 'timeline-hour',
    roomId,
    hourStart,
    sourceId: `hour:${roomId}:${new Date(hourStart).toISOString()}`,
  };
}

/** A thread, keyed by its root message. */
export function threadSource(roomId: string, rootId: string): MessageSource {
  return { kind: 'thread', roomId, rootId, sourceId: `thread:${rootId}` };
}

/**
 * The sources a message's text is in: a reply is in its thread; a timeline message is in its hour, and
 * also in its thread once it has replies (a root without replies has no thread).
 *
 * @example
 * for (const source of messageSourcesOf(event.payload.message)) await knowledge.indexMessageSource(source);
 */
export function messageSourcesOf(
  message: Pick<Message, 'roomId' | 'threadRootId' | 'createdAt' | 'replyCount'> & { id: string },
): MessageSource[] {
  if (message.threadRootId) return [threadSource(message.roomId, message.threadRootId)];
  const hour = timelineHour(message.roomId, message.createdAt);
  return message.replyCount > 0 ? [hour, threadSource(message.roomId, message.id)] : [hour];
}

/** The end (exclusive) of a timeline hour. */
export function hourEnd(source: Extract<MessageSource, { kind: 'timeline-hour' }>): number {
  return source.hourStart + HOUR_MS;
}
