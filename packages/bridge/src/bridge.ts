import {
  type BridgeMessageMapping,
  type ChatStore,
  createId,
  type PlatformAdapter,
  type PlatformAttachment,
  type PlatformInboundEdit,
  type PlatformInboundEvent,
  type PlatformInboundMessage,
  type PlatformOutboxItem,
  type StoreTransaction,
  ValidationError,
} from '@kaiwa/core';
import {
  type BackoffOptions,
  type OutboxDeliveryResult,
  PlatformInbox,
  PlatformOutbox,
  type PlatformOutboxRequest,
} from '@kaiwa/platform-queues';

/** One channel to link: a Kaiwa room is `{ platform: 'kaiwa', channelId: roomId }`. */
export interface BridgeEndpointInput {
  platform: string;
  channelId: string;
}

/** A bridge: every message in one of its channels is relayed to all the others. */
export interface BridgeLink {
  /** 1–64 letters, digits, dots, dashes or underscores. */
  id: string;
  endpoints: BridgeEndpointInput[];
}

export interface BridgeConfig {
  /** Keeps the links, the message-id mapping, the inbox and the outbox: they survive restarts. */
  store: ChatStore;
  /** One adapter per platform; the Kaiwa side is a `KaiwaRoomsAdapter` from `@kaiwa/bot`. */
  adapters: PlatformAdapter[];
  /** Links to make sure of at start (links added earlier stay until `unlink`). */
  links?: BridgeLink[];
  /** Names the bridge's inbox and outbox, for several bridge processes with different adapters. Default `bridge`. */
  consumer?: string;
  /** Reads attachment URLs the adapter cannot read itself. Default: global fetch. */
  fetch?: (url: string) => Promise<Response>;
  inbox?: { maxAttempts?: number; backoff?: BackoffOptions; pollMs?: number; leaseMs?: number };
  outbox?: { maxAttempts?: number; backoff?: BackoffOptions; pollMs?: number; leaseMs?: number };
  clock?: () => Date;
}

/** What a relayed message carries so the bridge knows it (Kaiwa: `metadata.bridge`). */
export interface BridgeOrigin {
  bridgeId: string;
  platform: string;
  channelId: string;
  messageId: string;
}

/** Where the outbox's `meta` says a copy belongs. */
interface CopyMeta {
  bridgeId: string;
  groupId: string;
  platform: string;
  channelId: string;
}

/** Adapters that can read their own inbound attachments (KaiwaRoomsAdapter) offer this. */
interface AttachmentReader {
  fetchAttachment(attachment: PlatformAttachment): Promise<Uint8Array>;
}

const BRIDGE_ID = /^[\w.-]{1,64}$/;

/**
 * The messaging bridge. Links Kaiwa rooms and platform channels many-to-many and relays messages between
 * them: with the author's name and avatar where the platform shows another author (`customAuthor`), else
 * with a bold `**name**: ` prefix; edits and deletes follow through the id mapping kept in the store;
 * replies in threads land in the matching threads; attachments are carried across. Inbound events go
 * through a durable inbox and outbound calls through a durable outbox, so a platform that is down
 * catches up later, in order, without loss or duplicates, also across restarts. The bridge never relays
 * its own messages: its copies are in the mapping, carry their origin (Kaiwa: `metadata.bridge`) and are
 * written by the adapters' own bot users.
 *
 * @example
 * const bridge = createBridge({ store, adapters: [kaiwa, slack],
 *   links: [{ id: 'general', endpoints: [{ platform: 'kaiwa', channelId: room.id }, { platform: 'slack', channelId: 'C1' }] }] });
 * await bridge.start();
 */
export class Bridge {
  readonly inbox: PlatformInbox;
  readonly outbox: PlatformOutbox;
  readonly #store: ChatStore;
  readonly #adapters = new Map<string, PlatformAdapter>();
  readonly #links: BridgeLink[];
  readonly #fetch: (url: string) => Promise<Response>;
  readonly #clock: () => Date;
  #started = false;

  constructor(config: BridgeConfig) {
    for (const adapter of config.adapters) {
      if (this.#adapters.has(adapter.platform)) {
        throw ValidationError.field('adapters', `two adapters for ${adapter.platform}`);
      }
      this.#adapters.set(adapter.platform, adapter);
    }
    for (const [index, link] of (config.links ?? []).entries()) {
      if (!BRIDGE_ID.test(link.id)) {
        throw ValidationError.field(
          ['links', index, 'id'],
          'must be 1–64 letters, digits, dots, dashes or underscores',
        );
      }
      for (const [position, endpoint] of link.endpoints.entries()) {
        if (!endpoint.channelId || !endpoint.platform) {
          throw ValidationError.field(
            ['links', index, 'endpoints', position],
            'needs a platform and a channelId',
          );
        }
      }
    }
    this.#store = config.store;
    this.#links = config.links ?? [];
    this.#fetch = config.fetch ?? ((url) => fetch(url));
    this.#clock = config.clock ?? (() => new Date());
    const consumer = config.consumer ?? 'bridge';
    this.inbox = new PlatformInbox({
      store: config.store,
      consumer,
      handler: (event) => this.#handle(event),
      ...(config.clock ? { clock: config.clock } : {}),
      ...config.inbox,
    });
    this.outbox = new PlatformOutbox({
      store: config.store,
      consumer,
      adapters: config.adapters,
      onDelivered: (tx, item, result) => this.#recordCopy(tx, item, result),
      ...(config.clock ? { clock: config.clock } : {}),
      ...config.outbox,
    });
  }

  /** Records the configured links, connects the adapters and starts relaying. */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    for (const link of this.#links) {
      for (const endpoint of link.endpoints) await this.link(link.id, endpoint);
    }
    for (const adapter of this.#adapters.values()) await adapter.connect(this.inbox);
    this.inbox.start();
    this.outbox.start();
  }

  /** Disconnects and stops; what is recorded but not yet relayed goes out after the next start. */
  async stop(): Promise<void> {
    if (!this.#started) return;
    this.#started = false;
    for (const adapter of this.#adapters.values()) await adapter.disconnect();
    await this.inbox.stop();
    await this.outbox.stop();
  }

  /** Adds a channel to a bridge (kept in the store). */
  async link(bridgeId: string, endpoint: BridgeEndpointInput): Promise<void> {
    if (!BRIDGE_ID.test(bridgeId))
      throw ValidationError.field('bridgeId', 'must be 1–64 letters, digits, dots, dashes or underscores');
    await this.#store.bridges.addEndpoint({ bridgeId, ...endpoint, createdAt: this.#now() });
  }

  /** Removes a channel from a bridge. */
  async unlink(bridgeId: string, endpoint: BridgeEndpointInput): Promise<boolean> {
    return this.#store.bridges.removeEndpoint(bridgeId, endpoint.platform, endpoint.channelId);
  }

  /** Handles and delivers everything due now (tests, graceful shutdown); returns how many items it took. */
  async drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const taken = (await this.inbox.drain()) + (await this.outbox.drain());
      if (taken === 0) return total;
      total += taken;
    }
  }

  async #handle(event: PlatformInboundEvent): Promise<void> {
    if (event.kind === 'message') return this.#relayMessage(event);
    if (event.kind === 'message.edited') return this.#relayEdit(event);
    if (event.kind === 'message.deleted')
      return this.#relayDelete(event.platform, event.channelId, event.messageId, event.eventId);
  }

  /**
   * True for what the bridge itself wrote: its adapters' bot users, its recorded copies (`known`: the
   * message's mappings), its origin marks.
   */
  #isOwn(event: PlatformInboundMessage | PlatformInboundEdit, known: BridgeMessageMapping[]): boolean {
    const adapter = this.#adapters.get(event.platform);
    if (adapter?.self && event.author.id === adapter.self.id) return true;
    const metadata = (event as { metadata?: Record<string, unknown> }).metadata;
    if (metadata && typeof metadata === 'object' && 'bridge' in metadata) return true;
    return known.some((mapping) => mapping.role === 'copy');
  }

  async #relayMessage(event: PlatformInboundMessage): Promise<void> {
    const known = await this.#store.bridges.findMessage(event.platform, event.channelId, event.messageId);
    if (this.#isOwn(event, known)) return;
    const links = await this.#store.bridges.findEndpoints(event.platform, event.channelId);
    if (links.length === 0) return;
    const attachments = await this.#readAttachments(event);
    for (const link of links) {
      const bridgeId = link.bridgeId;
      // Channels on platforms this process has no adapter for are another process's business.
      const endpoints = (await this.#store.bridges.listEndpoints(bridgeId)).filter(
        (endpoint) => this.#adapters.has(endpoint.platform) && !sameChannel(endpoint, event),
      );
      // A retried event keeps its group, so its copies keep their idempotency keys.
      const groupId = known.find((mapping) => mapping.bridgeId === bridgeId)?.groupId ?? createId();
      const rootGroup = event.threadId
        ? await this.#groupOf(bridgeId, event.platform, event.channelId, event.threadId)
        : undefined;
      const replyGroup = event.replyToMessageId
        ? await this.#groupOf(bridgeId, event.platform, event.channelId, event.replyToMessageId)
        : undefined;
      const origin: BridgeOrigin = {
        bridgeId,
        platform: event.platform,
        channelId: event.channelId,
        messageId: event.messageId,
      };
      await this.#store.transaction(async (tx) => {
        await tx.bridges.recordMessage({
          bridgeId,
          groupId,
          platform: event.platform,
          channelId: event.channelId,
          messageId: event.messageId,
          threadId: event.threadId,
          role: 'origin',
          createdAt: this.#now(),
        });
        for (const endpoint of endpoints) {
          const adapter = this.#adapters.get(endpoint.platform);
          const request: PlatformOutboxRequest & { operation: 'send' } = {
            operation: 'send',
            platform: endpoint.platform,
            idempotencyKey: sendKey(bridgeId, groupId, endpoint),
            target: { channelId: endpoint.channelId },
            message: {
              ...this.#present(event, adapter, event.text),
              attachments: attachments.filter(
                (attachment) =>
                  adapter?.capabilities.uploads &&
                  (attachment.data?.byteLength ?? 0) <= adapter.capabilities.maxUploadBytes,
              ),
              metadata: { bridge: { origin: { ...origin } } },
            },
            meta: {
              bridgeId,
              groupId,
              platform: endpoint.platform,
              channelId: endpoint.channelId,
            } satisfies CopyMeta,
          };
          const skipped = attachments.length - (request.message.attachments?.length ?? 0);
          if (skipped > 0) {
            const names = attachments.map((attachment) => `📎 ${attachment.name}`).join('\n');
            request.message.text = `${request.message.text}\n${names}`;
            request.message.attachments = [];
          }
          if (rootGroup) {
            const here = rootGroup.find((mapping) => sameChannel(mapping, endpoint));
            if (here) request.target.threadId = here.threadId ?? here.messageId;
            else request.threadOf = sendKey(bridgeId, rootGroup[0]!.groupId, endpoint);
          }
          const replyHere = replyGroup?.find((mapping) => sameChannel(mapping, endpoint));
          if (replyHere) request.message.replyToMessageId = replyHere.messageId;
          await this.outbox.enqueue(request, tx);
        }
      });
    }
    this.outbox.wake();
  }

  async #relayEdit(event: PlatformInboundEdit): Promise<void> {
    const known = await this.#store.bridges.findMessage(event.platform, event.channelId, event.messageId);
    if (this.#isOwn(event, known)) return;
    await this.#followThrough(known, (key, endpoint) => ({
      operation: 'edit',
      platform: endpoint.platform,
      idempotencyKey: `${key}|edit|${event.eventId}`,
      ref: { sentBy: key, channelId: endpoint.channelId },
      message: this.#present(event, this.#adapters.get(endpoint.platform), event.text),
    }));
  }

  async #relayDelete(platform: string, channelId: string, messageId: string, eventId: string): Promise<void> {
    // Deleting a copy (the bridge's own follow-through) is not relayed back: only origins are followed.
    await this.#followThrough(
      await this.#store.bridges.findMessage(platform, channelId, messageId),
      (key, endpoint) => ({
        operation: 'delete',
        platform: endpoint.platform,
        idempotencyKey: `${key}|delete|${eventId}`,
        ref: { sentBy: key, channelId: endpoint.channelId },
      }),
    );
  }

  /**
   * Queues, in one transaction, an operation on every copy of the origins among `known` (a message's
   * mappings) that this process has an adapter for; `request` gets the copy's send key and endpoint.
   */
  async #followThrough(
    known: BridgeMessageMapping[],
    request: (key: string, endpoint: BridgeEndpointInput) => PlatformOutboxRequest,
  ): Promise<void> {
    const origins = known.filter((mapping) => mapping.role === 'origin');
    if (origins.length === 0) return;
    await this.#store.transaction(async (tx) => {
      for (const origin of origins) {
        for (const endpoint of await tx.bridges.listEndpoints(origin.bridgeId)) {
          if (sameChannel(origin, endpoint) || !this.#adapters.has(endpoint.platform)) continue;
          await this.outbox.enqueue(
            request(sendKey(origin.bridgeId, origin.groupId, endpoint), endpoint),
            tx,
          );
        }
      }
    });
    this.outbox.wake();
  }

  /** The relayed form of a message: custom author where the platform shows one, else a bold name prefix. */
  #present(
    event: PlatformInboundMessage | PlatformInboundEdit,
    adapter: PlatformAdapter | undefined,
    text: string,
  ): { text: string; author?: { name: string; avatarUrl?: string } } {
    const name = event.author.displayName || event.author.name;
    if (adapter?.capabilities.customAuthor) {
      return {
        text,
        author: { name, ...(event.author.avatarUrl ? { avatarUrl: event.author.avatarUrl } : {}) },
      };
    }
    return { text: `**${name.replace(/[*_`\\]/g, '\\$&')}**: ${text}` };
  }

  /** The group a message on a channel belongs to in this bridge (origin first), if the bridge knows it. */
  async #groupOf(
    bridgeId: string,
    platform: string,
    channelId: string,
    messageId: string,
  ): Promise<BridgeMessageMapping[] | undefined> {
    const mapping = (await this.#store.bridges.findMessage(platform, channelId, messageId)).find(
      (entry) => entry.bridgeId === bridgeId,
    );
    if (!mapping) return undefined;
    return this.#store.bridges.listGroup(bridgeId, mapping.groupId);
  }

  async #readAttachments(event: PlatformInboundMessage): Promise<PlatformAttachment[]> {
    const adapter = this.#adapters.get(event.platform) as
      | (PlatformAdapter & Partial<AttachmentReader>)
      | undefined;
    const read: PlatformAttachment[] = [];
    for (const attachment of event.attachments) {
      let data = attachment.data;
      if (!data && adapter?.fetchAttachment) data = await adapter.fetchAttachment(attachment);
      else if (!data && attachment.url) {
        const response = await this.#fetch(attachment.url);
        if (!response.ok) throw new Error(`fetching ${attachment.name} answered ${response.status}`);
        data = new Uint8Array(await response.arrayBuffer());
      }
      if (data)
        read.push({ name: attachment.name, mimeType: attachment.mimeType, size: data.byteLength, data });
    }
    return read;
  }

  /** Records a delivered copy in the mapping, in the transaction that marks it delivered. */
  async #recordCopy(
    tx: StoreTransaction,
    item: PlatformOutboxItem,
    result: OutboxDeliveryResult,
  ): Promise<void> {
    if (item.operation !== 'send' || item.meta === null) return;
    const meta = item.meta as unknown as CopyMeta;
    for (const ref of result.refs) {
      await tx.bridges.recordMessage({
        bridgeId: meta.bridgeId,
        groupId: meta.groupId,
        platform: meta.platform,
        channelId: ref.channelId,
        messageId: ref.messageId,
        threadId: ref.threadId ?? null,
        role: 'copy',
        createdAt: this.#now(),
      });
    }
  }

  #now(): string {
    return this.#clock().toISOString();
  }
}

/** The idempotency key of a group's copy on one channel; edits and deletes find the copy by it. */
function sendKey(bridgeId: string, groupId: string, endpoint: BridgeEndpointInput): string {
  return `${bridgeId}|${groupId}|${endpoint.platform}|${endpoint.channelId}`;
}

function sameChannel(
  a: { platform: string; channelId: string },
  b: { platform: string; channelId: string },
): boolean {
  return a.platform === b.platform && a.channelId === b.channelId;
}

/**
 * Creates a {@link Bridge}.
 *
 * @example const bridge = createBridge({ store, adapters: [kaiwa], links: [{ id: 'lobby', endpoints }] });
 */
export function createBridge(config: BridgeConfig): Bridge {
  return new Bridge(config);
}
