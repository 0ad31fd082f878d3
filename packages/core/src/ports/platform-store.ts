import type { JsonValue } from '../schemas/common.js';

/*
 * Storage ports of the platform layer: the durable inbox of inbound platform events, the outbox of
 * outbound platform calls, and the bridge's links and message-id mappings. Times are ISO 8601 strings,
 * compared as text (they all come from `Date#toISOString`, so text order is time order).
 */

/** `pending` waits (or is leased by a worker); `done` was handled; `dead` failed for good and is kept. */
export type PlatformQueueStatus = 'pending' | 'done' | 'dead';

/** One inbound platform event as the inbox keeps it. */
export interface PlatformInboxItem {
  /** ULID given when recorded: items are handled in this order. */
  id: string;
  /** Who handles it (`bot:helper`, `bridge`): each consumer dedupes and handles on its own. */
  consumer: string;
  platform: string;
  /** The platform's id of the delivery; unique per (consumer, platform). */
  eventId: string;
  /** The event, as JSON. */
  event: JsonValue;
  status: PlatformQueueStatus;
  /** Claims so far, the current one included. */
  attempts: number;
  /** When it may be claimed next: after a failure, the retry time; while leased, the lease end. */
  availableAt: string;
  lastError: string | null;
  receivedAt: string;
  /** When it was handled, or declared dead. */
  finishedAt: string | null;
}

/** What the inbox records: the item less the fields that track its handling. */
export type NewPlatformInboxItem = Pick<
  PlatformInboxItem,
  'id' | 'consumer' | 'platform' | 'eventId' | 'event' | 'receivedAt'
>;

/** A page of a consumer's queue items in id order, keyset-paginated (`after` an id), optionally of one status. */
export interface PlatformQueueQuery {
  consumer: string;
  status?: PlatformQueueStatus;
  after?: string;
  limit: number;
}

/** What a claim hands a worker: the items, each leased to it until `leaseUntil`. */
export interface PlatformClaim {
  consumer: string;
  /** Only items with `availableAt <= now` are claimed. */
  now: string;
  /** Claimed items are not handed to anyone else before this time (a crashed worker's items come back). */
  leaseUntil: string;
  limit: number;
}

/** How a failed attempt ends: retried at `retryAt`, or dead when `retryAt` is null. */
export interface PlatformFailure {
  error: string;
  retryAt: string | null;
  at: string;
}

/**
 * The durable inbox: every inbound event is recorded once per (consumer, platform, eventId) before the
 * platform is acknowledged, then claimed and handled with retries. Nothing is deleted: handled items stay
 * `done`, items that kept failing stay `dead` for operators to see and retry.
 */
export interface PlatformInboxRepository {
  /**
   * Records an event unless the consumer has it already.
   *
   * @example
   * const outcome = await store.platformInbox.record({ id: createId(), consumer: 'bridge', platform: 'slack',
   *   eventId: 'Ev123', event, receivedAt: now }); // 'recorded', or 'duplicate' on a platform retry
   */
  record(item: NewPlatformInboxItem): Promise<'recorded' | 'duplicate'>;
  /**
   * Leases up to `limit` due pending items, oldest first, and counts an attempt on each. Two workers never
   * get the same item while its lease runs.
   *
   * @example
   * const items = await store.platformInbox.claim({ consumer: 'bridge', now, leaseUntil, limit: 10 });
   */
  claim(claim: PlatformClaim): Promise<PlatformInboxItem[]>;
  /**
   * Marks a claimed item handled.
   * @example await store.platformInbox.markDone(item.id, new Date().toISOString());
   */
  markDone(id: string, at: string): Promise<void>;
  /**
   * Records a failed attempt: the item waits until `retryAt`, or is dead when `retryAt` is null.
   * @example await store.platformInbox.markFailed(item.id, { error: 'timeout', retryAt, at: now });
   */
  markFailed(id: string, failure: PlatformFailure): Promise<void>;
  /**
   * Puts a dead item back in the queue, due at `at`, with its attempts reset. @returns false when it was not dead.
   * @example await store.platformInbox.requeue(deadItem.id, new Date().toISOString());
   */
  requeue(id: string, at: string): Promise<boolean>;
  /** @example const item = await store.platformInbox.findById(id); */
  findById(id: string): Promise<PlatformInboxItem | undefined>;
  /**
   * A consumer's items in id order, keyset-paginated, optionally of one status.
   * @example const dead = await store.platformInbox.list({ consumer: 'bridge', status: 'dead', limit: 50 });
   */
  list(query: PlatformQueueQuery): Promise<PlatformInboxItem[]>;
}

export type PlatformOutboxOperation = 'send' | 'edit' | 'delete' | 'react' | 'unreact';

/** One outbound platform call as the outbox keeps it. */
export interface PlatformOutboxItem {
  id: string;
  consumer: string;
  /** Unique per consumer: enqueuing the same key again returns the first item. */
  idempotencyKey: string;
  platform: string;
  /** Items of one (consumer, platform, target) are delivered one at a time, in id order. */
  target: string;
  operation: PlatformOutboxOperation;
  /** What the sender needs (target, message, reference), as JSON. */
  payload: JsonValue;
  /** Whatever the consumer wants back when it is delivered (the bridge keeps its mapping here). */
  meta: JsonValue;
  status: PlatformQueueStatus;
  attempts: number;
  availableAt: string;
  lastError: string | null;
  /** What the delivery gave back (the sent messages' refs), once done. */
  result: JsonValue | null;
  createdAt: string;
  finishedAt: string | null;
}

/** What the outbox enqueues: the item less the fields that track its delivery. */
export type NewPlatformOutboxItem = Pick<
  PlatformOutboxItem,
  | 'id'
  | 'consumer'
  | 'idempotencyKey'
  | 'platform'
  | 'target'
  | 'operation'
  | 'payload'
  | 'meta'
  | 'createdAt'
>;

/**
 * The durable outbox: outbound calls wait here until the platform takes them, so a platform that is down
 * catches up later; the idempotency key keeps a repeated enqueue from sending twice. Nothing is dropped.
 */
export interface PlatformOutboxRepository {
  /**
   * Adds an item unless the consumer has one with this idempotency key.
   *
   * @example
   * const { item, outcome } = await store.platformOutbox.enqueue({ id: createId(), consumer: 'bridge',
   *   idempotencyKey: 'relay:…', platform: 'slack', target: 'C1', operation: 'send', payload, meta: null,
   *   createdAt: now });
   */
  enqueue(
    item: NewPlatformOutboxItem,
  ): Promise<{ item: PlatformOutboxItem; outcome: 'enqueued' | 'duplicate' }>;
  /**
   * Leases due pending items that are the oldest pending item of their target, so each target gets its
   * items in order, one at a time, and a target that waits for a retry holds back only its own items.
   *
   * @example
   * const items = await store.platformOutbox.claim({ consumer: 'bridge', now, leaseUntil, limit: 10 });
   */
  claim(claim: PlatformClaim): Promise<PlatformOutboxItem[]>;
  /**
   * Marks a claimed item delivered and keeps what the platform gave back.
   * @example await store.platformOutbox.markDone(item.id, { refs }, now);
   */
  markDone(id: string, result: JsonValue, at: string): Promise<void>;
  /**
   * Records a failed attempt: the item waits until `retryAt`, or is dead when `retryAt` is null.
   * @example await store.platformOutbox.markFailed(item.id, { error: 'rate limited', retryAt, at: now });
   */
  markFailed(id: string, failure: PlatformFailure): Promise<void>;
  /**
   * Puts a dead item back in the queue. @returns false when it was not dead.
   * @example await store.platformOutbox.requeue(item.id, now);
   */
  requeue(id: string, at: string): Promise<boolean>;
  /** @example const item = await store.platformOutbox.findByKey('bridge', 'relay:…'); */
  findByKey(consumer: string, idempotencyKey: string): Promise<PlatformOutboxItem | undefined>;
  /** @example const pending = await store.platformOutbox.list({ consumer: 'bridge', status: 'pending', limit: 50 }); */
  list(query: PlatformQueueQuery): Promise<PlatformOutboxItem[]>;
}

/** One channel of a bridge: a Kaiwa room is `{ platform: 'kaiwa', channelId: roomId }`. */
export interface BridgeEndpoint {
  bridgeId: string;
  platform: string;
  channelId: string;
  createdAt: string;
}

/**
 * One message of a relayed group: the origin (the message a person wrote) or one of its copies. All the
 * messages of a group share `groupId`.
 */
export interface BridgeMessageMapping {
  bridgeId: string;
  groupId: string;
  platform: string;
  channelId: string;
  messageId: string;
  /** Thread the message is in on its platform, if any. */
  threadId: string | null;
  role: 'origin' | 'copy';
  createdAt: string;
}

/** The bridge's links (bridge → endpoints, many-to-many) and its message-id mappings. */
export interface BridgeRepository {
  /**
   * Links a channel into a bridge; linking it again changes nothing. @returns false when it was linked.
   * @example await store.bridges.addEndpoint({ bridgeId: 'general', platform: 'slack', channelId: 'C1', createdAt });
   */
  addEndpoint(endpoint: BridgeEndpoint): Promise<boolean>;
  /** @example await store.bridges.removeEndpoint('general', 'slack', 'C1'); */
  removeEndpoint(bridgeId: string, platform: string, channelId: string): Promise<boolean>;
  /** @example const endpoints = await store.bridges.listEndpoints('general'); */
  listEndpoints(bridgeId: string): Promise<BridgeEndpoint[]>;
  /**
   * Every bridge endpoint on this channel (a channel may be in several bridges).
   * @example const links = await store.bridges.findEndpoints('slack', 'C1');
   */
  findEndpoints(platform: string, channelId: string): Promise<BridgeEndpoint[]>;
  /**
   * Records a message of a group; recording it again changes nothing. @returns false when it was known.
   * @example await store.bridges.recordMessage({ bridgeId, groupId, platform: 'slack', channelId: 'C1',
   *   messageId: '1700000000.0001', threadId: null, role: 'copy', createdAt });
   */
  recordMessage(mapping: BridgeMessageMapping): Promise<boolean>;
  /**
   * The mappings of a platform message in every bridge (the bridge uses this to spot its own copies).
   * @example const known = await store.bridges.findMessage('slack', 'C1', '1700000000.0001');
   */
  findMessage(platform: string, channelId: string, messageId: string): Promise<BridgeMessageMapping[]>;
  /** Every message of a group, origin first. @example const copies = await store.bridges.listGroup('general', groupId); */
  listGroup(bridgeId: string, groupId: string): Promise<BridgeMessageMapping[]>;
}
