import {
  type ChatEngine,
  type ChatEventListeners,
  type ChatModel,
  type Message,
  type ModelError,
  NotFoundError,
  type Room,
  transcriptOf,
  type User,
  voiceAttachmentOf,
} from '@kaiwa/core';
import { buildContext, estimateTokens } from './context.js';
import {
  type AssistantKnowledge,
  type AssistantPassage,
  NOTHING_FOUND_ANSWER,
  promptWithSources,
  withSourceList,
} from './knowledge-prompt.js';

/** Per-room choices; unset fields fall back to the assistant's options. */
export interface AssistantRoomSettings {
  /** A model name the `resolveModel` option understands, e.g. `elyza:jp8b`. */
  model?: string | undefined;
  /** Replaces the default system prompt in this room. */
  systemPrompt?: string | undefined;
  /** `elyza`/`elyza-fast`: ELYZA's Llama-2 template (for Japanese rooms); `none`: the server's own format. */
  preset?: 'none' | 'elyza' | 'elyza-fast' | undefined;
}

export interface AssistantLimits {
  /** Generations running at once in one room. Default 1. */
  perRoomConcurrent: number;
  /** Generations running at once for one asking user. Default 1. */
  perUserConcurrent: number;
  /** Requests one user may make per minute. Default 10. */
  perUserPerMinute: number;
}

export interface AssistantOptions {
  engine: ChatEngine;
  /** The default model. */
  model: ChatModel;
  /** The bot user the assistant speaks as (see {@link ensureAssistantUser}). */
  botUser: User;
  /** Default `You are Kaiwa's helpful assistant…`. */
  systemPrompt?: string;
  /** Context window of the model, in (estimated) tokens. Default 4096. */
  contextTokens?: number;
  /** Most tokens per answer. Default 512. */
  maxTokens?: number;
  temperature?: number;
  /** Most history messages looked at. Default 50. */
  historyLimit?: number;
  /** Initial per-room settings by room id. */
  rooms?: Record<string, AssistantRoomSettings>;
  /**
   * Where per-room settings are read again when they change while running, on any instance: on a
   * `room.settings.updated` event for `key` (published on the bus by whoever changed them) that room's
   * settings, and after the bus reconnected (events may have been missed meanwhile) every room's.
   */
  settingsSource?: AssistantSettingsSource;
  /**
   * Claim each question in the store before answering it (a room setting inserted only if absent), so that
   * with several server instances on one store and bus exactly one assistant answers. Default true.
   */
  claimQuestions?: boolean;
  /**
   * The rooms' knowledge: where a room has sources, answers come from them with citations, and "found
   * nothing" instead of a guess when they hold nothing on the question.
   */
  knowledge?: AssistantKnowledge;
  /**
   * Answer voice messages by their transcript: a message with an audio attachment is considered when the
   * server's transcript of it is `done` (a `message.updated`), not when it is sent, and asks its caption
   * (less the mention) followed by the transcript. It triggers the assistant as a typed message would: in a
   * direct room with the bot, or with the mention in its caption. Set it where the server transcribes voice
   * messages; without it a voice message counts by its caption alone, when sent. A voice message whose
   * transcript failed, addressed by its caption or in a direct room, gets {@link UNHEARD_VOICE_ANSWER}
   * once; a later transcript that succeeds (a retry) is still answered. Default false.
   */
  voiceTranscripts?: boolean;
  /** Turns a room's settings into a model; undefined (or no resolver) uses `model`. */
  resolveModel?: (settings: AssistantRoomSettings) => ChatModel | undefined;
  limits?: Partial<AssistantLimits>;
  /** After a refusal, further refusals to the same user stay silent for this long. Default 10 000 ms. */
  refusalCooldownMs?: number;
  /** Token counter; defaults to {@link estimateTokens}. */
  countTokens?: (text: string) => number;
  /** Where unexpected failures (not model errors) are reported. Default console.error. */
  onError?: (error: unknown, context: string) => void;
  /** Milliseconds since the epoch; tests pass a fake clock. */
  now?: () => number;
}

/** See {@link AssistantOptions.settingsSource}. */
export interface AssistantSettingsSource {
  /** The room settings key the settings are kept under (events for other keys are ignored). */
  key: string;
  /** One room's current settings; undefined when it has none. */
  read(roomId: string): Promise<AssistantRoomSettings | undefined>;
  /** Every room's current settings, by room id. */
  readAll(): Promise<Record<string, AssistantRoomSettings>>;
}

/** The room setting that claims a question for one assistant (a ULID pair: within the 64-character key). */
export function assistantClaimKey(botUserId: string, messageId: string): string {
  return `claim:${botUserId}:${messageId}`;
}

export const DEFAULT_ASSISTANT_SYSTEM_PROMPT =
  'You are the helpful assistant of a team chat. Answer the last message briefly and accurately, in the ' +
  'language it was written in. Messages from people start with their name.';

const DEFAULT_LIMITS: AssistantLimits = { perRoomConcurrent: 1, perUserConcurrent: 1, perUserPerMinute: 10 };

/** The answer to a voice message addressed to the assistant whose transcript failed. */
export const UNHEARD_VOICE_ANSWER =
  "Sorry, I couldn't make out your voice message. Could you say it again, or type it?";

/** What people read when the model failed, by error code. */
export const FRIENDLY_ERRORS: Record<string, string> = {
  backend_unreachable: "Sorry, I can't reach the language model right now. Please try again in a moment.",
  rate_limited: 'Sorry, the language model is busy right now. Please try again in a little while.',
  timeout: 'Sorry, the language model took too long to answer. Please try again.',
  context_too_long: 'Sorry, this conversation is too long for me. Please ask again in a new thread.',
  model_missing: 'Sorry, the model configured for this room is not available.',
  backend_error: 'Sorry, something went wrong while I was answering. Please try again.',
};

interface Generation {
  asking: Message;
  controller: AbortController;
  done: Promise<void>;
}

/**
 * The in-chat assistant: answers messages that mention its bot user, and every message in a direct room
 * with it, streaming the answer as ephemeral `message.delta` events and storing the final text as one
 * message (in the asking message's thread when it was in one). Deleting the asking message stops the
 * answer. Backend failures and limits become short, friendly replies.
 *
 * With several server instances, every instance sees every question (through the bus); each instance's
 * assistant claims the question in the store first (`claimQuestions`) and only the one whose claim
 * inserted the row answers, so a question gets one answer. The claim is taken before the model is asked
 * and never handed over: if the answering instance dies mid-answer, the question stays unanswered (asked
 * again, it is a new question). Limits (`limits`) count on the answering instance. Per-room settings are
 * cached; `settingsSource` keeps the cache current when another instance changes them.
 *
 * @example
 * const bot = await ensureAssistantUser(engine, 'assistant');
 * const assistant = new Assistant({ engine, model, botUser: bot });
 * // … later
 * await assistant.stop();
 */
export class Assistant {
  readonly botUser: User;
  readonly #options: AssistantOptions;
  readonly #engine: ChatEngine;
  readonly #limits: AssistantLimits;
  readonly #settings = new Map<string, AssistantRoomSettings>();
  readonly #generations = new Map<string, Generation>();
  /** Every task started (generations and refusals), so `idle()` can wait for them. */
  readonly #tasks = new Set<Promise<void>>();
  readonly #busyRooms = new Map<string, number>();
  readonly #busyUsers = new Map<string, number>();
  readonly #recent = new Map<string, number[]>();
  readonly #lastRefusal = new Map<string, number>();
  readonly #refusalCooldownMs: number;
  readonly #now: () => number;
  /** Per room, how many settings reads were started: a read that finished after a newer one started is stale. */
  readonly #settingsReads = new Map<string, number>();
  #stopReconnect: () => void = () => undefined;
  #stopped = false;

  constructor(options: AssistantOptions) {
    this.#options = options;
    this.#engine = options.engine;
    this.botUser = options.botUser;
    this.#limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.#now = options.now ?? Date.now;
    this.#refusalCooldownMs = options.refusalCooldownMs ?? 10_000;
    for (const [roomId, settings] of Object.entries(options.rooms ?? {}))
      this.#settings.set(roomId, settings);
    this.#engine.events.on('message.created', this.#onCreated);
    this.#engine.events.on('message.deleted', this.#onDeleted);
    if (options.voiceTranscripts) this.#engine.events.on('message.updated', this.#onTranscribed);
    if (options.settingsSource) {
      this.#engine.events.on('room.settings.updated', this.#onSettingsUpdated);
      this.#stopReconnect = this.#engine.onReconnect(() => this.#track(this.#reloadSettings()));
    }
  }

  /** The settings of one room (empty when it has none). */
  roomSettings(roomId: string): AssistantRoomSettings {
    return { ...this.#settings.get(roomId) };
  }

  /** Replaces a room's settings in this assistant's cache (the server stores them in the store first). */
  setRoomSettings(roomId: string, settings: AssistantRoomSettings): void {
    this.#settings.set(roomId, { ...settings });
  }

  /** Generations running now. */
  activeCount(): number {
    return this.#generations.size;
  }

  /** Resolves when every answer started so far has been stored (or given up). */
  async idle(): Promise<void> {
    while (this.#tasks.size > 0) await Promise.allSettled([...this.#tasks]);
  }

  /** Stops listening, aborts running generations and waits for them to wind down. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#engine.events.off('message.created', this.#onCreated);
    this.#engine.events.off('message.deleted', this.#onDeleted);
    this.#engine.events.off('message.updated', this.#onTranscribed);
    this.#engine.events.off('room.settings.updated', this.#onSettingsUpdated);
    this.#stopReconnect();
    for (const generation of this.#generations.values()) generation.controller.abort();
    await this.idle();
  }

  readonly #onCreated: ChatEventListeners['message.created'] = (event) => {
    const message = event.payload.message;
    if (this.#stopped || message.authorId === this.botUser.id || message.deletedAt) return;
    // A voice message waits for its transcript (#onTranscribed) when the server makes one.
    if (this.#options.voiceTranscripts && voiceAttachmentOf(message) && !spokenText(message)) return;
    this.#track(this.#consider(message));
  };

  /**
   * A voice message whose transcript is done asks its question now. Every later update (an edit, another
   * transcript) finds the question claimed already, so it is answered once.
   */
  readonly #onTranscribed: ChatEventListeners['message.updated'] = (event) => {
    const message = event.payload.message;
    if (this.#stopped || message.authorId === this.botUser.id || message.deletedAt) return;
    if (!voiceAttachmentOf(message) || !(spokenText(message) || unheard(message))) return;
    this.#track(this.#consider(message));
  };

  readonly #onDeleted: ChatEventListeners['message.deleted'] = (event) => {
    this.#generations.get(event.payload.message.id)?.controller.abort();
  };

  readonly #onSettingsUpdated: ChatEventListeners['room.settings.updated'] = (event) => {
    const source = this.#options.settingsSource;
    if (this.#stopped || !source || event.payload.key !== source.key) return;
    const { roomId } = event.payload;
    const started = (this.#settingsReads.get(roomId) ?? 0) + 1;
    this.#settingsReads.set(roomId, started);
    this.#track(
      source.read(roomId).then((settings) => {
        // Two changes in a row: only the read started last may write the cache.
        if (this.#settingsReads.get(roomId) !== started) return;
        if (settings) this.#settings.set(roomId, { ...settings });
        else this.#settings.delete(roomId);
      }),
    );
  };

  /** After a bus reconnect: changes announced meanwhile never arrived, so every room's settings are read. */
  async #reloadSettings(): Promise<void> {
    const source = this.#options.settingsSource;
    if (this.#stopped || !source) return;
    for (const [roomId, count] of this.#settingsReads) this.#settingsReads.set(roomId, count + 1);
    const marks = new Map(this.#settingsReads);
    const all = await source.readAll();
    for (const roomId of new Set([...this.#settings.keys(), ...Object.keys(all)])) {
      // A per-room read started since this one began knows better.
      if ((this.#settingsReads.get(roomId) ?? 0) !== (marks.get(roomId) ?? 0)) continue;
      const settings = all[roomId];
      if (settings) this.#settings.set(roomId, { ...settings });
      else this.#settings.delete(roomId);
    }
  }

  #track(task: Promise<void>): void {
    const guarded = task.catch((error: unknown) => this.#report(error, 'assistant task failed'));
    this.#tasks.add(guarded);
    void guarded.finally(() => this.#tasks.delete(guarded));
  }

  #report(error: unknown, context: string): void {
    (this.#options.onError ?? ((e, c) => console.error(`kaiwa assistant: ${c}`, e)))(error, context);
  }

  async #consider(message: Message): Promise<void> {
    const mentioned =
      message.mentions.userIds.includes(this.botUser.id) ||
      (this.#options.voiceTranscripts === true && this.#calledBy(spokenText(message)));
    // A room the bot cannot read (a private group it is not in) is one it cannot answer in.
    const room = await this.#engine.getRoom(this.botUser.id, message.roomId).catch(() => undefined);
    if (!room) return;
    const direct =
      room.kind === 'direct' && (await this.#engine.findMembership(this.botUser.id, room.id)) !== undefined;
    if (!mentioned && !direct) return;
    const author = await this.#engine.getUser(message.authorId).catch(() => undefined);
    // Bots do not talk to bots: no loops.
    if (!author || author.role === 'bot') return;
    // A voice message it could not hear is claimed apart, so that a retried transcript is still answered.
    const couldNotHear = this.#options.voiceTranscripts === true && unheard(message);
    // Every instance sees the question; the one whose claim row went in answers it, the others stay quiet.
    if ((this.#options.claimQuestions ?? true) && !(await this.#claim(message, couldNotHear ? ':u' : '')))
      return;
    // A private group it was not invited to: it cannot answer there at all.
    if (!(await this.#joined(room))) return;
    if (couldNotHear) {
      await this.#reply(room, message, UNHEARD_VOICE_ANSWER, { assistant: { unheard: true } });
      return;
    }

    const refusal = this.#admit(message);
    if (refusal) {
      // One refusal per user per cooldown, so repeated asking does not make the bot flood the room.
      const now = this.#now();
      if (now - (this.#lastRefusal.get(author.id) ?? Number.NEGATIVE_INFINITY) < this.#refusalCooldownMs)
        return;
      this.#lastRefusal.set(author.id, now);
      await this.#reply(room, message, refusal, { refusal: true });
      return;
    }
    const controller = new AbortController();
    const done = this.#generate(room, message, author, controller.signal);
    this.#generations.set(message.id, { asking: message, controller, done });
    this.#busyRooms.set(room.id, (this.#busyRooms.get(room.id) ?? 0) + 1);
    this.#busyUsers.set(author.id, (this.#busyUsers.get(author.id) ?? 0) + 1);
    try {
      await done;
    } finally {
      this.#generations.delete(message.id);
      decrement(this.#busyRooms, room.id);
      decrement(this.#busyUsers, author.id);
    }
  }

  async #claim(message: Message, suffix: string): Promise<boolean> {
    const claimedAt = new Date(this.#now()).toISOString();
    return this.#engine.claimRoomSetting(
      this.botUser.id,
      message.roomId,
      assistantClaimKey(this.botUser.id, message.id) + suffix,
      { claimedAt },
    );
  }

  /** Undefined when the request may go ahead (and is counted); otherwise the friendly refusal. */
  #admit(message: Message): string | undefined {
    if ((this.#busyRooms.get(message.roomId) ?? 0) >= this.#limits.perRoomConcurrent)
      return "I'm still answering another question in this room. Please ask again when I'm done.";
    if ((this.#busyUsers.get(message.authorId) ?? 0) >= this.#limits.perUserConcurrent)
      return "I'm still answering your previous question. Please ask again when I'm done.";
    const now = this.#now();
    const recent = (this.#recent.get(message.authorId) ?? []).filter((at) => at > now - 60_000);
    if (recent.length >= this.#limits.perUserPerMinute) {
      this.#recent.set(message.authorId, recent);
      return `You've asked me ${recent.length} times in the last minute. Please wait a moment before asking again.`;
    }
    recent.push(now);
    this.#recent.set(message.authorId, recent);
    return undefined;
  }

  async #generate(room: Room, asking: Message, author: User, signal: AbortSignal): Promise<void> {
    const settings = this.#settings.get(room.id) ?? {};
    const model = this.#options.resolveModel?.(settings) ?? this.#options.model;
    const maxTokens = this.#options.maxTokens ?? 512;
    const threadRootId = asking.threadRootId;
    const question = this.#question(asking);
    const passages = await this.#options.knowledge?.passagesFor({
      actorId: author.id,
      roomId: room.id,
      question,
      messageId: asking.id,
    });
    if (passages?.length === 0) {
      await this.#reply(room, asking, NOTHING_FOUND_ANSWER, {
        assistant: { model: model.modelId, sources: [] },
      });
      return;
    }
    const { messages, sources } = await this.#context(room, asking, author, settings, maxTokens, passages);
    const reply = await this.#engine.openReplyStream(this.botUser.id, {
      roomId: room.id,
      replyToId: asking.id,
      threadRootId,
    });
    const { streamId } = reply;
    const publish = (delta: string, done: boolean) => reply.publish(delta, done);

    let text = '';
    let failure: ModelError | undefined;
    const stream = model.stream(
      {
        messages,
        maxTokens,
        ...(this.#options.temperature !== undefined ? { temperature: this.#options.temperature } : {}),
      },
      { abortSignal: signal },
    );
    for await (const part of stream) {
      if (part.type === 'text-delta') {
        if (part.delta === '' || signal.aborted) continue;
        text += part.delta;
        await publish(part.delta, false);
      } else if (part.type === 'error') failure = part.error;
    }
    if (signal.aborted) {
      // The question is gone (or we are shutting down): tell clients to drop the preview, store nothing.
      await publish('', true);
      return;
    }
    const metadata: Record<string, unknown> = { assistant: { streamId, model: model.modelId } };
    if (failure) {
      this.#report(failure, `model ${model.modelId} failed (${failure.code})`);
      await this.#reply(room, asking, FRIENDLY_ERRORS[failure.code] ?? FRIENDLY_ERRORS.backend_error!, {
        ...metadata,
        error: failure.code,
      });
    } else {
      const answer = text.trim() === '' ? "Sorry, I don't have an answer to that." : text;
      if (sources) {
        const listed = withSourceList(answer, sources);
        await this.#reply(room, asking, listed.text, {
          assistant: { streamId, model: model.modelId, sources: listed.cited },
        });
      } else {
        await this.#reply(room, asking, answer, metadata);
      }
    }
    await publish('', true);
  }

  /**
   * A voice message that starts by calling the bot by its username or display name ("assistant, …",
   * "hey assistant …") mentions it, as `@assistant` would in typed text.
   */
  #calledBy(spoken: string | undefined): boolean {
    if (!spoken) return false;
    const names = [this.botUser.username, this.botUser.displayName].map((name) =>
      name.toLowerCase().replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
    );
    return new RegExp(
      `^(?:(?:hey|hi|hello|ok|okay)[\\s,]+)?(?:${names.join('|')})(?![\\p{L}\\p{N}])`,
      'u',
    ).test(spoken.toLowerCase());
  }

  /** The question without the mention that asked it; of a voice message, what was said after the caption. */
  #question(asking: Message): string {
    const caption = asking.text.replaceAll(`@${this.botUser.username}`, '').trim();
    const spoken = this.#options.voiceTranscripts ? spokenText(asking) : undefined;
    if (spoken) return caption ? `${caption}\n${spoken}` : spoken;
    return caption || asking.text;
  }

  async #context(
    room: Room,
    asking: Message,
    author: User,
    settings: AssistantRoomSettings,
    maxTokens: number,
    passages: AssistantPassage[] | undefined,
  ) {
    const limit = this.#options.historyLimit ?? 50;
    const history: Message[] = [];
    if (asking.threadRootId) {
      const root = await this.#engine.getMessage(author.id, asking.threadRootId).catch(() => undefined);
      const page = await this.#engine.history(author.id, {
        roomId: room.id,
        threadRootId: asking.threadRootId,
        before: asking.id,
        limit,
      });
      if (root) history.push(root);
      history.push(...page.messages);
    } else {
      const page = await this.#engine.history(author.id, { roomId: room.id, before: asking.id, limit });
      history.push(...page.messages);
    }
    if (this.#options.voiceTranscripts) {
      // Earlier voice messages count by what was said in them.
      for (const [index, message] of history.entries()) {
        const spoken = spokenText(message);
        if (spoken) history[index] = { ...message, text: `${message.text}\n${spoken}`.trim() };
      }
    }
    const users = await this.#engine.getUsers([
      ...new Set([...history, asking].map((each) => each.authorId)),
    ]);
    const names = new Map(users.map((user) => [user.id, user.displayName]));
    const contextTokens = this.#options.contextTokens ?? 4096;
    const countTokens = this.#options.countTokens ?? estimateTokens;
    const budget = Math.max(0, contextTokens - maxTokens);
    let systemPrompt = settings.systemPrompt ?? this.#options.systemPrompt ?? DEFAULT_ASSISTANT_SYSTEM_PROMPT;
    let sources: AssistantPassage[] | undefined;
    if (passages) {
      // The sources take at most half of the prompt's budget; the conversation gets the rest.
      const withSources = promptWithSources(systemPrompt, passages, Math.floor(budget / 2), countTokens);
      systemPrompt = withSources.prompt;
      sources = withSources.used;
    }
    const messages = buildContext({
      systemPrompt,
      history,
      asking: { ...asking, text: this.#question(asking) },
      botUserId: this.botUser.id,
      names,
      budget,
      countTokens,
    });
    return { messages, sources };
  }

  /** Joins a public channel it was mentioned in; false when it cannot post in the room. */
  async #joined(room: Room): Promise<boolean> {
    const membership = await this.#engine.findMembership(this.botUser.id, room.id).catch(() => undefined);
    if (membership) return true;
    if (room.kind !== 'channel') return false;
    await this.#engine.joinRoom(this.botUser.id, room.id);
    return true;
  }

  async #reply(room: Room, asking: Message, text: string, metadata: Record<string, unknown>): Promise<void> {
    if (!(await this.#joined(room))) return;
    try {
      await this.#engine.sendMessage(this.botUser.id, {
        roomId: room.id,
        text,
        replyToId: asking.id,
        ...(asking.threadRootId ? { threadRootId: asking.threadRootId } : {}),
        metadata,
      });
    } catch (error) {
      this.#report(error, 'could not post the reply');
    }
  }
}

/** The words of a voice message's finished transcript; undefined for any other message. */
function spokenText(message: Message): string | undefined {
  const transcript = transcriptOf(message);
  if (transcript?.status !== 'done' || !voiceAttachmentOf(message)) return undefined;
  return transcript.text.trim() || undefined;
}

/** A voice message whose transcript failed. */
function unheard(message: Message): boolean {
  return voiceAttachmentOf(message) !== undefined && transcriptOf(message)?.status === 'failed';
}

function decrement(counts: Map<string, number>, key: string): void {
  const left = (counts.get(key) ?? 1) - 1;
  if (left <= 0) counts.delete(key);
  else counts.set(key, left);
}

/**
 * The assistant's bot user: found by username, or created with role `bot`.
 *
 * @example const bot = await ensureAssistantUser(engine, 'assistant');
 */
export async function ensureAssistantUser(engine: ChatEngine, username = 'assistant'): Promise<User> {
  let user: User;
  try {
    user = await engine.getUserByUsername(username);
  } catch (error) {
    if (!(error instanceof NotFoundError)) throw error;
    return engine.createUser({ username, displayName: 'Assistant', role: 'bot' });
  }
  // Never speak as a person who happens to have the name.
  if (user.role !== 'bot')
    throw new Error(`the user "${username}" exists and is not a bot; pick another username`);
  return user;
}
