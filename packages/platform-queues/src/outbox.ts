import type {
  ChatStore,
  JsonValue,
  PlatformOutboxItem,
  StoreRepositories,
  StoreTransaction,
} from '@kaiwa/core';
import {
  createId,
  type PlatformAdapter,
  PlatformError,
  type PlatformMessageRef,
  type PlatformOutboundMessage,
  type PlatformTarget,
  ValidationError,
} from '@kaiwa/core';
import { type BackoffOptions, backoffDelay } from './backoff.js';
import { describeError, storedKey } from './inbox.js';
import { fromPlatformJson, toPlatformJson } from './platform-json.js';
import { QueueWorker } from './queue-worker.js';

/**
 * A message an operation acts on: known refs, or the message(s) an earlier `send` of this outbox
 * produced, named by that send's idempotency key (resolved at delivery, so it works while the send waits).
 */
export type OutboxMessageRef = PlatformMessageRef | { sentBy: string; channelId: string };

interface OutboxRequestBase {
  platform: string;
  /** Unique per outbox: enqueuing the same key again returns the first item and sends nothing new. */
  idempotencyKey: string;
  /** Handed back to `onDelivered`. */
  meta?: JsonValue;
}

export type PlatformOutboxRequest =
  | (OutboxRequestBase & {
      operation: 'send';
      target: PlatformTarget;
      message: PlatformOutboundMessage & { metadata?: Record<string, unknown> };
      /** Post in the thread of the message an earlier send (this key) produced. */
      threadOf?: string;
    })
  | (OutboxRequestBase & {
      operation: 'edit';
      ref: OutboxMessageRef;
      message: PlatformOutboundMessage;
    })
  | (OutboxRequestBase & { operation: 'delete'; ref: OutboxMessageRef })
  | (OutboxRequestBase & { operation: 'react' | 'unreact'; ref: OutboxMessageRef; emoji: string });

/** What a delivery gave back: the messages a send produced, or why nothing was done. */
export interface OutboxDeliveryResult {
  refs: PlatformMessageRef[];
  skipped?: string;
}

export interface PlatformOutboxConfig {
  store: ChatStore;
  /** Whose outbox this is; keys and order are per consumer. */
  consumer: string;
  adapters: PlatformAdapter[];
  /** Attempts for failures that are not a retryable PlatformError before the item is dead. Default 8. */
  maxAttempts?: number;
  backoff?: BackoffOptions;
  leaseMs?: number;
  pollMs?: number;
  batchSize?: number;
  clock?: () => Date;
  /** Runs in the transaction that marks an item delivered (the bridge records its id mapping here). */
  onDelivered?: (
    tx: StoreTransaction,
    item: PlatformOutboxItem,
    result: OutboxDeliveryResult,
  ) => Promise<void>;
  onError?: (error: unknown, item: PlatformOutboxItem) => void;
  onDead?: (item: PlatformOutboxItem, error: unknown) => void;
}

/**
 * The durable outbox: platform calls wait in the store until the platform takes them. Each target (a
 * channel) gets its operations one at a time and in order; a platform that is down or rate-limits
 * (`PlatformError.retryable`, `retryAfterMs`) is retried for as long as it takes, so nothing is lost,
 * and a repeated enqueue with the same idempotency key sends nothing twice. Failures that cannot get
 * better (`invalid_request`, `forbidden`) are kept as `dead` for operators.
 *
 * @example
 * const outbox = new PlatformOutbox({ store, consumer: 'bridge', adapters: [slack] });
 * outbox.start();
 * await outbox.enqueue({ operation: 'send', platform: 'slack', idempotencyKey: 'hello-1',
 *   target: { channelId: 'C1' }, message: { text: 'Hello' } });
 */
export class PlatformOutbox {
  readonly consumer: string;
  readonly #store: ChatStore;
  readonly #adapters = new Map<string, PlatformAdapter>();
  readonly #maxAttempts: number;
  readonly #backoff: BackoffOptions;
  readonly #leaseMs: number;
  readonly #batchSize: number;
  readonly #clock: () => Date;
  readonly #onDelivered: PlatformOutboxConfig['onDelivered'];
  readonly #onError: (error: unknown, item: PlatformOutboxItem) => void;
  readonly #onDead: (item: PlatformOutboxItem, error: unknown) => void;
  readonly #worker: QueueWorker;

  constructor(config: PlatformOutboxConfig) {
    this.consumer = config.consumer;
    this.#store = config.store;
    for (const adapter of config.adapters) this.#adapters.set(adapter.platform, adapter);
    this.#maxAttempts = config.maxAttempts ?? 8;
    this.#backoff = config.backoff ?? {};
    this.#leaseMs = config.leaseMs ?? 60_000;
    this.#batchSize = config.batchSize ?? 20;
    this.#clock = config.clock ?? (() => new Date());
    this.#onDelivered = config.onDelivered;
    this.#onError = config.onError ?? (() => {});
    this.#onDead =
      config.onDead ??
      ((item, error) =>
        console.error(
          `kaiwa: outbound ${item.operation} ${item.idempotencyKey} to ${item.platform} is dead`,
          error,
        ));
    this.#worker = new QueueWorker(
      () => this.#pass(),
      config.pollMs ?? 1000,
      (error) => console.error(`kaiwa: outbox ${this.consumer} pass failed`, error),
    );
  }

  /**
   * Queues an operation. Pass `repositories` (a transaction) to queue it together with other writes; call
   * `wake()` after that transaction commits so it goes out at once rather than at the next poll.
   */
  async enqueue(
    request: PlatformOutboxRequest,
    repositories: StoreRepositories = this.#store,
  ): Promise<{ item: PlatformOutboxItem; outcome: 'enqueued' | 'duplicate' }> {
    const { platform, idempotencyKey, meta, operation, ...payload } = request;
    if (!this.#adapters.has(platform)) {
      throw ValidationError.field('platform', `this outbox has no adapter for ${String(platform)}`);
    }
    if (typeof idempotencyKey !== 'string' || idempotencyKey === '') {
      throw ValidationError.field('idempotencyKey', 'must be a non-empty string');
    }
    const target = 'target' in request ? request.target.channelId : request.ref.channelId;
    const result = await repositories.platformOutbox.enqueue({
      id: createId(),
      consumer: this.consumer,
      idempotencyKey: storedKey(idempotencyKey),
      platform,
      target,
      operation,
      payload: toPlatformJson(payload),
      meta: meta ?? null,
      createdAt: this.#now(),
    });
    if (repositories === this.#store) this.#worker.wake();
    return result;
  }

  /** Asks the worker for a pass now. */
  wake(): void {
    this.#worker.wake();
  }

  start(): void {
    this.#worker.start();
  }

  stop(): Promise<void> {
    return this.#worker.stop();
  }

  /** Delivers every item due now; returns how many it took. */
  async drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const taken = await this.#worker.runPass();
      if (taken === 0) return total;
      total += taken;
    }
  }

  /** The item queued under this key, with its status and result. */
  find(idempotencyKey: string): Promise<PlatformOutboxItem | undefined> {
    return this.#store.platformOutbox.findByKey(this.consumer, storedKey(idempotencyKey));
  }

  list(query: { status?: PlatformOutboxItem['status']; after?: string; limit?: number } = {}) {
    return this.#store.platformOutbox.list({
      consumer: this.consumer,
      limit: query.limit ?? 100,
      ...(query.status ? { status: query.status } : {}),
      ...(query.after ? { after: query.after } : {}),
    });
  }

  async requeue(id: string): Promise<boolean> {
    const requeued = await this.#store.platformOutbox.requeue(id, this.#now());
    if (requeued) this.#worker.wake();
    return requeued;
  }

  async #pass(): Promise<number> {
    const now = this.#clock();
    const items = await this.#store.platformOutbox.claim({
      consumer: this.consumer,
      now: now.toISOString(),
      leaseUntil: new Date(now.getTime() + this.#leaseMs).toISOString(),
      limit: this.#batchSize,
    });
    for (const item of items) await this.#deliver(item);
    return items.length;
  }

  async #deliver(item: PlatformOutboxItem): Promise<void> {
    let result: OutboxDeliveryResult;
    try {
      result = await this.#perform(item);
    } catch (error) {
      this.#onError(error, item);
      const now = this.#clock();
      const platformError = error instanceof PlatformError ? error : undefined;
      // A retryable platform failure (down, rate-limited) waits as long as it takes: never dropped.
      const dead = platformError ? !platformError.retryable : item.attempts >= this.#maxAttempts;
      const wait = Math.max(backoffDelay(item.attempts, this.#backoff), platformError?.retryAfterMs ?? 0);
      await this.#store.platformOutbox.markFailed(item.id, {
        error: describeError(error),
        retryAt: dead ? null : new Date(now.getTime() + wait).toISOString(),
        at: now.toISOString(),
      });
      if (dead) this.#onDead({ ...item, status: 'dead' }, error);
      return;
    }
    const at = this.#now();
    const stored = toPlatformJson(result);
    await this.#store.transaction(async (tx) => {
      await tx.platformOutbox.markDone(item.id, stored, at);
      await this.#onDelivered?.(tx, { ...item, status: 'done', result: stored }, result);
    });
  }

  async #perform(item: PlatformOutboxItem): Promise<OutboxDeliveryResult> {
    const adapter = this.#adapters.get(item.platform);
    if (!adapter) {
      throw new PlatformError(item.platform, 'unavailable', `no adapter for ${item.platform} in this outbox`);
    }
    const payload = fromPlatformJson<Record<string, unknown>>(item.payload);
    if (item.operation === 'send') {
      const target = { ...(payload.target as PlatformTarget) };
      if (typeof payload.threadOf === 'string') {
        const root = (await this.#sentRefs(payload.threadOf))[0];
        if (root) target.threadId = root.threadId ?? root.messageId;
      }
      const refs = await adapter.send(target, payload.message as PlatformOutboundMessage);
      return { refs };
    }
    const refs = await this.#resolve(payload.ref as OutboxMessageRef);
    const first = refs[0];
    if (!first) return { refs: [], skipped: 'the message was never delivered' };
    try {
      if (item.operation === 'edit') {
        if (!adapter.capabilities.edit) return { refs, skipped: 'the platform cannot edit' };
        await adapter.edit(first, payload.message as PlatformOutboundMessage);
        // A long message was split in several; the rest go, so the edit does not leave stale parts.
        for (const extra of refs.slice(1)) await adapter.delete(extra);
        return { refs: [first] };
      }
      if (item.operation === 'delete') {
        if (!adapter.capabilities.delete) return { refs, skipped: 'the platform cannot delete' };
        for (const ref of refs) await adapter.delete(ref);
        return { refs };
      }
      if (!adapter.capabilities.reactions) return { refs, skipped: 'the platform has no reactions' };
      if (item.operation === 'react') await adapter.react(first, payload.emoji as string);
      else await adapter.unreact(first, payload.emoji as string);
      return { refs: [first] };
    } catch (error) {
      // The message is gone already: there is nothing left to change.
      if (error instanceof PlatformError && error.code === 'not_found') return { refs, skipped: 'not found' };
      throw error;
    }
  }

  async #resolve(ref: OutboxMessageRef): Promise<PlatformMessageRef[]> {
    if ('messageId' in ref) return [ref];
    return this.#sentRefs(ref.sentBy);
  }

  async #sentRefs(idempotencyKey: string): Promise<PlatformMessageRef[]> {
    const sent = await this.#store.platformOutbox.findByKey(this.consumer, storedKey(idempotencyKey));
    if (sent?.status !== 'done' || sent.result === null) return [];
    return fromPlatformJson<OutboxDeliveryResult>(sent.result).refs ?? [];
  }

  #now(): string {
    return this.#clock().toISOString();
  }
}
