import {
  consolePlatformLogger,
  type PlatformAdapter,
  type PlatformAdapterDeps,
  type PlatformAdapterDescriptor,
  type PlatformCapabilities,
  PlatformError,
  type PlatformEventSink,
  type PlatformInboundEvent,
  type PlatformLogger,
  type PlatformMessageRef,
  type PlatformOutboundMessage,
  type PlatformTarget,
  type PlatformUser,
  type PlatformWebhookHandler,
  platformErrorCodeForStatus,
  retryAfterMs,
  withPlatformRetry,
} from '@kaiwa/core';
import {
  type Activity,
  CloudAdapter,
  ConfigurationBotFrameworkAuthentication,
  type ConversationReference,
  TurnContext,
} from 'botbuilder';
import { z } from 'zod';
import { type TeamsAdapterConfig, teamsSettingsSchema, upgradeTeamsSettings } from './teams-config.js';
import { renderTeams, splitForTeams, TEAMS_TEXT_LIMIT, type TeamsMentionLookup } from './teams-format.js';
import { normaliseActivity, splitConversationId, type TeamsActivity } from './teams-inbound.js';

/** The calls of botframework-connector's `ConnectorClient` the adapter makes. */
interface ConnectorClient {
  conversations: {
    sendToConversation(conversationId: string, activity: Partial<Activity>): Promise<{ id?: string }>;
    replyToActivity(
      conversationId: string,
      activityId: string,
      activity: Partial<Activity>,
    ): Promise<{ id?: string }>;
    updateActivity(conversationId: string, activityId: string, activity: Partial<Activity>): Promise<unknown>;
    deleteActivity(conversationId: string, activityId: string): Promise<unknown>;
  };
}

/** Inline images are the only files a bot can post through the connector (as data URLs, up to 1 MiB). */
const MAX_INLINE_IMAGE_BYTES = 1024 * 1024;
const CARD_CONTENT_TYPE = 'application/vnd.microsoft.card.adaptive';

/** A CloudAdapter whose activity processing we can call with our own request handling and status codes. */
class KaiwaCloudAdapter extends CloudAdapter {
  run(authHeader: string, activity: Activity, logic: (context: TurnContext) => Promise<void>) {
    return this.processActivity(authHeader, activity, logic);
  }
}

/** The sink refused the event: the Bot Framework gets a 503 and delivers the activity again later. */
class NotRecordedError extends Error {}

/**
 * Microsoft Teams through botbuilder's `CloudAdapter`: inbound activities arrive as HTTP POSTs the host
 * hands to {@link TeamsAdapter.handleWebhook} as web Requests; outbound calls go to the Bot Framework
 * connector at the conversation's `serviceUrl`. Bots cannot add reactions through the connector, so
 * `capabilities.reactions` is false and `react` throws `unsupported`.
 *
 * @example
 * const teams = createTeamsAdapter({ token: appPassword, auth: { MicrosoftAppId, MicrosoftAppType: 'SingleTenant', MicrosoftAppTenantId } });
 * await teams.connect({ accept: (event) => inbox.record(event) });
 * app.post('/api/messages', (c) => teams.handleWebhook(c.req.raw)); // any host that speaks web Request
 */
export class TeamsAdapter implements PlatformAdapter, PlatformWebhookHandler {
  readonly platform = 'teams';
  readonly capabilities: PlatformCapabilities = {
    edit: true,
    delete: true,
    reactions: false,
    threads: true,
    uploads: true,
    customAuthor: false,
    maxTextLength: TEAMS_TEXT_LIMIT,
    maxUploadBytes: MAX_INLINE_IMAGE_BYTES,
  };
  /** The botbuilder adapter, for what the port does not cover (TeamsInfo, cards with actions...). */
  readonly cloudAdapter: CloudAdapter;

  private readonly config: TeamsAdapterConfig;
  private readonly adapter: KaiwaCloudAdapter;
  private sink: PlatformEventSink | undefined;
  private selfUser: PlatformUser | undefined;
  private readonly references = new Map<string, Partial<ConversationReference>>();
  private readonly usersByName = new Map<string, { id: string; name: string }>();
  private readonly userNames = new Map<string, string>();
  private readonly logger: PlatformLogger;

  constructor(config: TeamsAdapterConfig = {}) {
    this.config = config;
    this.logger = config.logger ?? consolePlatformLogger('teams');
    const auth = {
      ...config.auth,
      ...(config.token !== undefined ? { MicrosoftAppPassword: config.token } : {}),
    };
    this.adapter = new KaiwaCloudAdapter(new ConfigurationBotFrameworkAuthentication(auth));
    this.cloudAdapter = this.adapter;
    if (config.botId) this.selfUser = { id: config.botId, name: config.botId, isBot: true };
  }

  get self(): PlatformUser | undefined {
    return this.selfUser;
  }

  /** Conversation references learnt from inbound activities, by channel (conversation) id. */
  get conversations(): ReadonlyMap<string, Partial<ConversationReference>> {
    return this.references;
  }

  /**
   * Adds a conversation reference saved elsewhere (they live in memory only), so proactive sends to it
   * work after a restart before Teams sends anything.
   *
   * @example
   * teams.rememberConversation({ serviceUrl, conversation: { id: '19:abc@thread.tacv2' } });
   */
  rememberConversation(reference: Partial<ConversationReference>): void {
    if (!reference.conversation?.id) {
      throw new PlatformError('teams', 'invalid_request', 'reference.conversation.id is required');
    }
    const { channelId } = splitConversationId(reference.conversation.id);
    this.references.set(channelId, {
      channelId: 'msteams',
      ...reference,
      conversation: { ...reference.conversation, id: channelId },
    });
  }

  async connect(sink: PlatformEventSink): Promise<void> {
    this.sink = sink;
  }

  async disconnect(): Promise<void> {
    this.sink = undefined;
  }

  /**
   * Handles one Bot Framework POST to the messaging endpoint, given as a web Request by the host (the Kaiwa
   * server serves it at `/api/v1/platforms/teams/events`). Answers 200 once the event is recorded by the
   * sink, 503 when it could not be (the Bot Framework delivers again), 401 when authentication fails.
   *
   * @example
   * const response = await teams.handleWebhook(new Request(url, { method: 'POST', headers, body }));
   */
  async handleWebhook(request: Request): Promise<Response> {
    if (request.method.toUpperCase() !== 'POST') return new Response(null, { status: 405 });
    let activity: unknown;
    try {
      activity = JSON.parse(await request.text());
    } catch (error) {
      activity = error instanceof Error ? error : new Error(String(error));
    }
    return this.#process(activity, request.headers.get('authorization') ?? undefined);
  }

  /** `activity` is the parsed body, or the error that parsing it gave. */
  async #process(activity: unknown, authorization: string | undefined): Promise<Response> {
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
      Response.json(body, { status, headers });
    if (activity instanceof Error) return json(400, { error: `body: ${activity.message}` });
    if (
      !activity ||
      typeof activity !== 'object' ||
      typeof (activity as { type?: unknown }).type !== 'string'
    ) {
      return json(400, { error: 'body: expected a Bot Framework activity with a type' });
    }
    if (!this.sink) return json(503, { error: 'adapter not connected' });
    try {
      const invoke = await this.adapter.run(String(authorization ?? ''), activity as Activity, (context) =>
        this.onTurn(context),
      );
      const status = invoke?.status ?? 200;
      return invoke?.body !== undefined ? json(status, invoke.body) : new Response(null, { status });
    } catch (error) {
      if (error instanceof NotRecordedError) {
        return json(503, { error: 'event not recorded, deliver again' }, { 'retry-after': '1' });
      }
      const status = (error as { statusCode?: number }).statusCode;
      if (status === 401 || (error as Error).name === 'AuthenticationError')
        return json(401, { error: 'unauthorized' });
      this.report(error);
      return json(500, { error: 'internal error' });
    }
  }

  async send(target: PlatformTarget, message: PlatformOutboundMessage): Promise<PlatformMessageRef[]> {
    const reference = this.referenceFor(target.channelId);
    const files = (message.attachments ?? []).map((attachment) => this.fileAttachment(attachment));
    const parts = splitForTeams(message.text);
    const refs: PlatformMessageRef[] = [];
    for (const [index, part] of parts.entries()) {
      const activity = this.messageActivity(part, message.author?.name);
      if (index === parts.length - 1 && files.length > 0) {
        activity.attachments = [...(activity.attachments ?? []), ...files];
      }
      // Replies go into the thread of the root message, or answer the given message.
      const replyTo = target.threadId ?? (index === 0 ? message.replyToMessageId : undefined);
      const id = await this.withConnector(reference, 'send', async (connector, conversationId) => {
        // Straight to the connector: TurnContext.sendActivity would answer the proactive turn's own id.
        const outgoing = TurnContext.applyConversationReference({ ...activity }, reference) as Activity;
        delete outgoing.replyToId;
        const sent = replyTo
          ? await connector.conversations.replyToActivity(conversationId, replyTo, {
              ...outgoing,
              replyToId: replyTo,
            })
          : await connector.conversations.sendToConversation(conversationId, outgoing);
        return sent?.id ?? '';
      });
      refs.push({
        channelId: target.channelId,
        ...(target.threadId ? { threadId: target.threadId } : {}),
        messageId: id,
      });
    }
    return refs;
  }

  async edit(ref: PlatformMessageRef, message: PlatformOutboundMessage): Promise<void> {
    const parts = splitForTeams(message.text);
    if (parts.length > 1) {
      throw new PlatformError(
        'teams',
        'invalid_request',
        `text: over Teams' ${TEAMS_TEXT_LIMIT} characters for one message`,
      );
    }
    const activity = this.messageActivity(parts[0] ?? '', message.author?.name);
    const reference = this.referenceFor(ref.channelId);
    await this.withConnector(reference, 'edit', async (connector, conversationId) => {
      const outgoing = TurnContext.applyConversationReference({ ...activity }, reference) as Activity;
      delete outgoing.replyToId;
      await connector.conversations.updateActivity(conversationId, ref.messageId, {
        ...outgoing,
        id: ref.messageId,
      });
    });
  }

  async delete(ref: PlatformMessageRef): Promise<void> {
    await this.withConnector(
      this.referenceFor(ref.channelId),
      'delete',
      async (connector, conversationId) => {
        await connector.conversations.deleteActivity(conversationId, ref.messageId);
      },
    );
  }

  async react(_ref: PlatformMessageRef, _emoji: string): Promise<void> {
    throw new PlatformError(
      'teams',
      'unsupported',
      'react: the Bot Framework connector has no reactions for bots',
    );
  }

  async unreact(_ref: PlatformMessageRef, _emoji: string): Promise<void> {
    throw new PlatformError(
      'teams',
      'unsupported',
      'unreact: the Bot Framework connector has no reactions for bots',
    );
  }

  private async onTurn(context: TurnContext): Promise<void> {
    const activity = context.activity as TeamsActivity;
    const reference = TurnContext.getConversationReference(context.activity);
    if (reference.conversation?.id) {
      const { channelId } = splitConversationId(reference.conversation.id);
      // Stored without the activity id, so later sends start new posts instead of answering this one.
      const { activityId: _answered, ...rest } = reference;
      this.references.set(channelId, { ...rest, conversation: { ...reference.conversation, id: channelId } });
    }
    if (activity.recipient?.id) {
      this.selfUser = {
        id: activity.recipient.id,
        name: activity.recipient.name ?? activity.recipient.id,
        isBot: true,
      };
    }
    const events = normaliseActivity(activity, {
      selfId: this.selfUser?.id,
      userName: (id) => this.config.userName?.(id) ?? this.userNames.get(id),
      rememberUser: (user) => {
        this.usersByName.set(user.name, { id: user.id, name: user.name });
        this.userNames.set(user.id, user.name);
      },
      commandPrefix: this.config.commandPrefix ?? '/',
    });
    for (const event of events) await this.record(event);
  }

  private async record(event: PlatformInboundEvent): Promise<void> {
    const sink = this.sink;
    if (!sink) throw new NotRecordedError('not connected');
    try {
      await sink.accept(event);
    } catch (error) {
      throw new NotRecordedError(`could not record ${event.eventId}`, { cause: error });
    }
  }

  private messageActivity(markdown: string, authorName: string | undefined): Partial<Activity> {
    const text = authorName
      ? `**${authorName.replace(/[*_`~\\<>[\]]/g, (c) => `\\${c}`)}**: ${markdown}`
      : markdown;
    const mention: TeamsMentionLookup = (username) =>
      this.config.mention?.(username) ?? this.usersByName.get(username);
    const rendered = renderTeams(text, mention);
    if (this.config.messageFormat === 'text') {
      // `toTeams` gives the HTML subset Teams renders, which the Bot Framework calls `xml`.
      return { type: 'message', text: rendered.text, textFormat: 'xml', entities: rendered.entities };
    }
    return {
      type: 'message',
      // Teams shows `summary` in notifications; the card is the message.
      summary: plainSummary(rendered.text),
      attachments: [{ contentType: CARD_CONTENT_TYPE, content: rendered.card }],
      entities: rendered.entities,
    } as Partial<Activity>;
  }

  private fileAttachment(attachment: NonNullable<PlatformOutboundMessage['attachments']>[number]) {
    if (attachment.url && !attachment.data) {
      return { contentType: attachment.mimeType, contentUrl: attachment.url, name: attachment.name };
    }
    const data = attachment.data ?? new Uint8Array();
    if (!attachment.mimeType.startsWith('image/')) {
      throw new PlatformError(
        'teams',
        'unsupported',
        `attachments: ${attachment.name}: a bot can only post images inline on Teams`,
      );
    }
    if (data.byteLength > MAX_INLINE_IMAGE_BYTES) {
      throw new PlatformError(
        'teams',
        'invalid_request',
        `attachments: ${attachment.name} is over ${MAX_INLINE_IMAGE_BYTES} bytes`,
      );
    }
    return {
      contentType: attachment.mimeType,
      contentUrl: `data:${attachment.mimeType};base64,${Buffer.from(data).toString('base64')}`,
      name: attachment.name,
    };
  }

  private referenceFor(channelId: string): Partial<ConversationReference> {
    const known = this.references.get(channelId);
    if (known) return known;
    if (!this.config.apiUrl) {
      throw new PlatformError(
        'teams',
        'not_found',
        `channelId: no conversation ${channelId} seen yet and no apiUrl (connector serviceUrl) configured for proactive sends`,
      );
    }
    return {
      channelId: 'msteams',
      serviceUrl: this.config.apiUrl,
      conversation: {
        id: channelId,
        isGroup: true,
        conversationType: 'channel',
        name: '',
        ...(this.config.tenantId ? { tenantId: this.config.tenantId } : {}),
      },
      ...(this.selfUser ? { bot: { id: this.selfUser.id, name: this.selfUser.name } } : {}),
    };
  }

  /**
   * Runs `work` with the connector client of a proactive turn for the conversation (authenticated when the
   * config has an app id), retrying 429/503 answers after their Retry-After.
   */
  private async withConnector<T>(
    reference: Partial<ConversationReference>,
    action: string,
    work: (connector: ConnectorClient, conversationId: string) => Promise<T>,
  ): Promise<T> {
    const appId = this.config.auth?.MicrosoftAppId ?? '';
    return withPlatformRetry(
      async () => {
        let result: T | undefined;
        await this.adapter.continueConversationAsync(appId, reference, async (context) => {
          const connector = context.turnState.get<ConnectorClient>(this.adapter.ConnectorClientKey);
          result = await work(connector, reference.conversation!.id);
        });
        return result as T;
      },
      (error) => toPlatformError(error, action),
      {
        retries: Math.max(0, (this.config.retry?.maxAttempts ?? 3) - 1),
        backoffMs: (attempt) =>
          Math.min(
            (this.config.retry?.backoff?.initialMs ?? 250) * 2 ** attempt,
            this.config.retry?.backoff?.maxMs ?? 30_000,
          ),
        maxDelayMs: this.config.retry?.maxRetryAfterMs ?? 30_000,
        overMax: 'cap',
      },
    );
  }

  private report(error: unknown): void {
    if (this.config.onError) this.config.onError(error);
    else this.logger.error({ platform: 'teams', err: error }, 'Teams activity could not be handled');
  }
}

function toPlatformError(error: unknown, action: string): PlatformError {
  if (error instanceof PlatformError) return error;
  const response = (
    error as { response?: { status?: number; headers?: { get(name: string): string | null | undefined } } }
  ).response;
  const status = (error as { statusCode?: number }).statusCode ?? response?.status;
  const message = `${action}: ${error instanceof Error ? error.message : String(error)}`;
  if (status === undefined) return new PlatformError('teams', 'unavailable', message, { cause: error });
  const code = platformErrorCodeForStatus(status);
  // 500 and 502 may be a bug of ours as well as theirs: only 503 and 504 say "later".
  const retryable = status === 429 || status === 503 || status === 504;
  const after = retryAfterMs(response?.headers?.get('retry-after'));
  return new PlatformError('teams', code, message, {
    retryable,
    ...(after !== undefined ? { retryAfterMs: after } : {}),
    cause: error,
  });
}

function plainSummary(html: string): string {
  const entities: Record<string, string> = {
    '&amp;': '&',
    '&lt;': '<',
    '&gt;': '>',
    '&quot;': '"',
    '&#39;': "'",
    '&nbsp;': ' ',
  };
  return html
    .replace(/<[^>]+>/g, ' ')
    .replace(/&(?:amp|lt|gt|quot|#39|nbsp);/g, (entity) => entities[entity] ?? entity)
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 200);
}

/**
 * Creates a {@link TeamsAdapter}.
 *
 * @example
 * const teams = createTeamsAdapter({ apiUrl: 'https://smba.trafficmanager.net/emea/' });
 */
export function createTeamsAdapter(config: TeamsAdapterConfig = {}): TeamsAdapter {
  return new TeamsAdapter(config);
}

/** Settings as {@link teamsSettingsSchema} gives them. */
export type TeamsSettings = z.output<typeof teamsSettingsSchema>;

/**
 * Teams for hosts that configure platforms from data (the Kaiwa server's bridge file): the settings schema
 * (last release's keys still read, see {@link upgradeTeamsSettings}), the secret fields and the factory.
 * Teams always receives through the host's webhook.
 *
 * @example
 * const teams = teamsAdapterDescriptor.create(teamsAdapterDescriptor.configSchema.parse(settings), { logger });
 */
export const teamsAdapterDescriptor: PlatformAdapterDescriptor<TeamsSettings, TeamsAdapter> = {
  platform: 'teams',
  configSchema: z.preprocess((settings) => upgradeTeamsSettings(settings), teamsSettingsSchema),
  secrets: ['token', 'auth.MicrosoftAppId', 'auth.MicrosoftAppPassword'],
  deprecations(settings) {
    const messages: string[] = [];
    upgradeTeamsSettings(settings, (message) => messages.push(message));
    return messages;
  },
  create: (config: TeamsSettings, deps: PlatformAdapterDeps = {}) => {
    const { listen: _listen, ...settings } = config;
    return new TeamsAdapter({
      ...(stripUndefined(settings) as TeamsAdapterConfig),
      ...(deps.logger ? { logger: deps.logger } : {}),
    });
  },
  webhook: { receives: () => true },
};

/** Drops undefined members, for options typed with exactOptionalPropertyTypes. */
function stripUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, item]) => item !== undefined)) as T;
}
