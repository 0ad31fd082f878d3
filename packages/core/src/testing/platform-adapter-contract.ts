import { afterEach, describe, expect, it } from 'vitest';
import {
  type PlatformAdapter,
  PlatformError,
  type PlatformEventSink,
  type PlatformInboundEvent,
  type PlatformInboundMessage,
  type PlatformMessageRef,
  type PlatformTarget,
} from '../ports/platform-adapter.js';

/** The tests of {@link platformAdapterContract}, by the key `skipTests` takes. */
export type PlatformAdapterContractTest =
  | 'capabilities'
  | 'send'
  | 'edit'
  | 'delete'
  | 'react'
  | 'retry-after'
  | 'inbound'
  | 'inbound-redelivery'
  | 'format-outbound'
  | 'format-inbound';

/** A message as the platform side now holds it. */
export interface PlatformHeldMessage {
  /** The text in the platform's own format (mrkdwn, Discord markdown, Telegram HTML, Teams markdown). */
  text: string;
  /** The bot's reactions on it, as Unicode emoji. */
  reactions: string[];
}

/**
 * One adapter wired to its platform side (a local fake of the platform's API, or the Kaiwa engine), built
 * fresh for every test by {@link PlatformAdapterContractOptions.create}.
 */
export interface PlatformAdapterHarness {
  /** The adapter under test, already connected to the sink `create` was given. */
  adapter: PlatformAdapter;
  /** Where the contract posts, and where inbound messages appear. */
  target: PlatformTarget;
  /**
   * Makes the platform deliver one message from a user other than the bot to `target`, `text` in the
   * platform's own format; resolves once the platform's delivery is done (the adapter acknowledged it).
   */
  deliverInbound(text: string): Promise<void>;
  /** Makes the platform deliver the last inbound event again, as platforms do on a timeout. */
  redeliverLast(): Promise<void>;
  /** Makes the platform answer the next send with 429 and `Retry-After: retryAfterSeconds`. */
  rateLimitNext(retryAfterSeconds: number): void;
  /** The message as the platform now holds it; undefined once it is deleted. */
  platformMessage(ref: PlatformMessageRef): Promise<PlatformHeldMessage | undefined>;
  /** Kaiwa markdown in the platform's own format: the adapter's formatter from `@kaiwa/platform-format`. */
  toPlatformText(markdown: string): string;
  /** Brings markdown to one spelling (`normalizeMarkdown`), so `_a_` and `*a*` compare equal. Default: as is. */
  normalizeMarkdown?(markdown: string): string;
  close(): Promise<void>;
}

export interface PlatformAdapterContractOptions {
  /** Shown in the test names: `Slack`, `Kaiwa rooms`. */
  name: string;
  /** Builds the platform side and a connected adapter that hands inbound events to `sink`. */
  create: (sink: PlatformEventSink) => Promise<PlatformAdapterHarness>;
  /** Why the whole suite is skipped; undefined runs it. */
  skip?: string;
  /** Tests to skip, each with its reason. */
  skipTests?: Partial<Record<PlatformAdapterContractTest, string>>;
  /** How long to wait for an inbound event to reach the sink (default 5 s). */
  inboundTimeoutMs?: number;
}

/** Records what reaches the adapter's sink and lets a test wait for the next event. */
class ContractSink implements PlatformEventSink {
  readonly events: PlatformInboundEvent[] = [];
  #waiters: { count: number; resolve: () => void }[] = [];

  async accept(event: PlatformInboundEvent): Promise<void> {
    this.events.push(event);
    for (const waiter of this.#waiters.filter((w) => this.events.length >= w.count)) waiter.resolve();
    this.#waiters = this.#waiters.filter((w) => this.events.length < w.count);
  }

  /** Resolves with the `count`-th event (1-based), or rejects after `timeoutMs`. */
  async waitFor(count: number, timeoutMs: number): Promise<PlatformInboundEvent> {
    if (this.events.length < count) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        new Promise<void>((resolve) => this.#waiters.push({ count, resolve })),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no inbound event #${count} reached the sink within ${timeoutMs} ms`)),
            timeoutMs,
          );
        }),
      ]).finally(() => clearTimeout(timer));
    }
    return this.events[count - 1] as PlatformInboundEvent;
  }
}

/** Bold, italic, code and a link: the marks every platform has. */
const FORMATTED = 'Say **bold**, *italic*, `code` and [a link](https://example.com/docs).';

async function expectUnsupported(call: Promise<unknown>): Promise<void> {
  const error = await call.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(PlatformError.isInstance(error), `expected a PlatformError, got ${String(error)}`).toBe(true);
  expect((error as PlatformError).code).toBe('unsupported');
}

/**
 * The conformance suite every {@link PlatformAdapter} runs: capability flags that are well formed and match
 * what the adapter does, send/edit/delete/react taking effect on the platform side, 429 answers waited out
 * for at least their Retry-After, inbound messages reaching the sink with an event id that a redelivery
 * keeps (so the inbox stores the event once), and Kaiwa markdown crossing into the platform's format and
 * back. Call it at the top level of a test file; every skip carries its reason.
 *
 * @example
 * platformAdapterContract({
 *   name: 'Slack',
 *   create: async (sink) => {
 *     const fake = await FakeSlackApi.start();
 *     const adapter = createSlackAdapter({ token: 'xoxb-test', apiUrl: fake.apiUrl, receiver });
 *     await adapter.connect(sink);
 *     return { adapter, target: { channelId: 'C1' }, ... };
 *   },
 *   skipTests: { 'inbound-redelivery': 'why' },
 * });
 */
export function platformAdapterContract(options: PlatformAdapterContractOptions): void {
  const inboundTimeoutMs = options.inboundTimeoutMs ?? 5_000;
  const suite = options.skip ? describe.skip : describe;

  suite(`PlatformAdapter contract: ${options.name}${options.skip ? ` (skipped: ${options.skip})` : ''}`, () => {
    let harness: PlatformAdapterHarness | undefined;
    let sink = new ContractSink();

    afterEach(async () => {
      await harness?.close();
      harness = undefined;
    });

    async function open(): Promise<PlatformAdapterHarness> {
      sink = new ContractSink();
      harness = await options.create(sink);
      return harness;
    }

    function test(key: PlatformAdapterContractTest, title: string, body: () => Promise<void>): void {
      const reason = options.skipTests?.[key];
      if (reason) it.skip(`${title} (skipped: ${reason})`, body);
      else it(title, body);
    }

    async function sendOne(h: PlatformAdapterHarness, text: string): Promise<PlatformMessageRef> {
      const refs = await h.adapter.send(h.target, { text });
      expect(refs).toHaveLength(1);
      const ref = refs[0] as PlatformMessageRef;
      expect(typeof ref.messageId).toBe('string');
      expect(ref.messageId).not.toBe('');
      expect(ref.channelId).toBe(h.target.channelId);
      return ref;
    }

    async function inboundMessage(index: number): Promise<PlatformInboundMessage> {
      const event = await sink.waitFor(index, inboundTimeoutMs);
      expect(event.kind).toBe('message');
      return event as PlatformInboundMessage;
    }

    const normalize = (h: PlatformAdapterHarness, markdown: string) =>
      h.normalizeMarkdown ? h.normalizeMarkdown(markdown) : markdown;

    test('capabilities', 'declares well-formed capability flags and its own user', async () => {
      const { adapter } = await open();
      expect(typeof adapter.platform).toBe('string');
      expect(adapter.platform).not.toBe('');
      const capabilities = adapter.capabilities;
      for (const flag of ['edit', 'delete', 'reactions', 'threads', 'uploads', 'customAuthor'] as const) {
        expect(typeof capabilities[flag], flag).toBe('boolean');
      }
      expect(Number.isInteger(capabilities.maxTextLength)).toBe(true);
      expect(capabilities.maxTextLength).toBeGreaterThan(0);
      expect(Number.isInteger(capabilities.maxUploadBytes)).toBe(true);
      if (capabilities.uploads) expect(capabilities.maxUploadBytes).toBeGreaterThan(0);
      else expect(capabilities.maxUploadBytes).toBe(0);
      expect(adapter.self, 'self is known after connect').toBeDefined();
      expect(adapter.self?.id).not.toBe('');
      expect(adapter.self?.isBot).toBe(true);
    });

    test('send', 'sends a message the platform then holds, and returns its id', async () => {
      const h = await open();
      const ref = await sendOne(h, 'contract: hello');
      const held = await h.platformMessage(ref);
      expect(held?.text).toBe(h.toPlatformText('contract: hello'));
    });

    test('edit', 'edits a sent message, or throws unsupported where it cannot', async () => {
      const h = await open();
      const ref = await sendOne(h, 'contract: before');
      if (!h.adapter.capabilities.edit) {
        await expectUnsupported(h.adapter.edit(ref, { text: 'contract: after' }));
        return;
      }
      await h.adapter.edit(ref, { text: 'contract: after' });
      expect((await h.platformMessage(ref))?.text).toBe(h.toPlatformText('contract: after'));
    });

    test('delete', 'deletes a sent message, or throws unsupported where it cannot', async () => {
      const h = await open();
      const ref = await sendOne(h, 'contract: short-lived');
      if (!h.adapter.capabilities.delete) {
        await expectUnsupported(h.adapter.delete(ref));
        return;
      }
      await h.adapter.delete(ref);
      expect(await h.platformMessage(ref)).toBeUndefined();
    });

    test('react', 'adds and removes a reaction, or throws unsupported where it cannot', async () => {
      const h = await open();
      const ref = await sendOne(h, 'contract: react to me');
      if (!h.adapter.capabilities.reactions) {
        await expectUnsupported(h.adapter.react(ref, '👍'));
        return;
      }
      await h.adapter.react(ref, '👍');
      expect((await h.platformMessage(ref))?.reactions).toContain('👍');
      await h.adapter.unreact(ref, '👍');
      expect((await h.platformMessage(ref))?.reactions ?? []).not.toContain('👍');
    });

    test('retry-after', 'waits out a 429 for at least its Retry-After, then succeeds', async () => {
      const h = await open();
      h.rateLimitNext(1);
      const started = performance.now();
      const ref = await sendOne(h, 'contract: after the limit');
      // A correctness check, not a benchmark: the retry must not come before the platform allowed it.
      expect(performance.now() - started).toBeGreaterThanOrEqual(900);
      expect((await h.platformMessage(ref))?.text).toBe(h.toPlatformText('contract: after the limit'));
    });

    test('inbound', 'hands an inbound message to the sink with a stable event id', async () => {
      const h = await open();
      await h.deliverInbound(h.toPlatformText('contract: hello bot'));
      const event = await inboundMessage(1);
      expect(event.platform).toBe(h.adapter.platform);
      expect(typeof event.eventId).toBe('string');
      expect(event.eventId).not.toBe('');
      expect(event.channelId).toBe(h.target.channelId);
      expect(event.messageId).not.toBe('');
      expect(event.author.id).not.toBe(h.adapter.self?.id);
      expect(Number.isNaN(Date.parse(event.at))).toBe(false);
      expect(event.text).toBe('contract: hello bot');
    });

    test(
      'inbound-redelivery',
      'gives a redelivered event the same event id, so the inbox keeps one',
      async () => {
        const h = await open();
        await h.deliverInbound(h.toPlatformText('contract: once only'));
        const first = await inboundMessage(1);
        await h.redeliverLast();
        const again = await inboundMessage(2);
        expect(again.eventId).toBe(first.eventId);
        expect(again.messageId).toBe(first.messageId);
        expect(again.text).toBe(first.text);
      },
    );

    test('format-outbound', 'sends Kaiwa markdown in the platform format', async () => {
      const h = await open();
      const ref = await sendOne(h, FORMATTED);
      const held = await h.platformMessage(ref);
      expect(held?.text).toBe(h.toPlatformText(FORMATTED));
      expect(held?.text).toContain('code');
      expect(held?.text).toContain('https://example.com/docs');
    });

    test('format-inbound', 'reads a platform-formatted message back as the same markdown', async () => {
      const h = await open();
      await h.deliverInbound(h.toPlatformText(FORMATTED));
      const event = await inboundMessage(1);
      expect(normalize(h, event.text)).toBe(normalize(h, FORMATTED));
    });
  });
}
