import { z } from 'zod';
import { fitsUtf8Bytes } from '../utf8.js';
import { IdSchema, MetadataSchema, TimestampSchema } from './common.js';

/** Largest message text, in UTF-8 bytes (64 KiB). */
export const MAX_MESSAGE_BYTES = 64 * 1024;

export const MessageTextSchema = z
  .string()
  .refine((text) => text.trim().length > 0, { message: 'must not be empty' })
  // A lone surrogate cannot be stored as UTF-8: the database would keep U+FFFD instead of what was sent.
  .refine((text) => !/\p{Surrogate}/u.test(text), {
    message: 'must be well-formed Unicode (no lone surrogate code units)',
  })
  .refine((text) => fitsUtf8Bytes(text, MAX_MESSAGE_BYTES), {
    message: `must be at most ${MAX_MESSAGE_BYTES} bytes of UTF-8`,
  });

/** Who a message mentions, parsed from its text by the engine. */
export const MentionsSchema = z.object({
  userIds: z.array(IdSchema),
  /** `@room`: everyone in the room. */
  room: z.boolean(),
  /** `@here`: everyone in the room who is online. */
  here: z.boolean(),
});
export type Mentions = z.infer<typeof MentionsSchema>;

export const AttachmentSchema = z.object({
  fileId: IdSchema,
  name: z.string(),
  mimeType: z.string(),
  size: z.number().int().min(0),
});
export type Attachment = z.infer<typeof AttachmentSchema>;

/** A reaction: a `:shortcode:` or one emoji (up to 16 code points, for ZWJ sequences and flags). */
export const EmojiSchema = z
  .string()
  .refine(
    (value) =>
      /^:[a-z0-9_+-]{1,62}:$/.test(value) ||
      ([...value].length <= 16 &&
        /^(?:\p{Extended_Pictographic}|\p{Regional_Indicator}|\p{Emoji_Component}|\ufe0f|\u200d)+$/u.test(
          value,
        ) &&
        /[\p{Extended_Pictographic}\p{Regional_Indicator}]/u.test(value)),
    { message: 'must be a :shortcode: or a single emoji' },
  );

export const ReactionSummarySchema = z.object({
  emoji: z.string(),
  count: z.number().int().min(1),
  userIds: z.array(IdSchema),
});
export type ReactionSummary = z.infer<typeof ReactionSummarySchema>;

/** Caller-chosen key that makes a send idempotent per author: 1–64 printable ASCII characters. */
export const ClientMessageIdSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[\x21-\x7e]+$/, 'must be 1–64 printable ASCII characters');

export const MessageSchema = z.object({
  id: IdSchema,
  roomId: IdSchema,
  authorId: IdSchema,
  /** Sequence number of the room event that created this message (see RoomEvent). */
  seq: z.number().int().min(1),
  /** Empty once the message is deleted (the tombstone keeps id, author and times). */
  text: z.string(),
  mentions: MentionsSchema,
  /** Root of the thread this message replies in; null for messages in the room timeline. */
  threadRootId: IdSchema.nullable(),
  /** Message this one quotes or answers, in the same room. */
  replyToId: IdSchema.nullable(),
  attachments: z.array(AttachmentSchema),
  reactions: z.array(ReactionSummarySchema),
  /** Replies in the thread this message starts. */
  replyCount: z.number().int().min(0),
  lastReplyAt: TimestampSchema.nullable(),
  clientMessageId: ClientMessageIdSchema.nullable(),
  metadata: MetadataSchema,
  createdAt: TimestampSchema,
  editedAt: TimestampSchema.nullable(),
  deletedAt: TimestampSchema.nullable(),
});
export type Message = z.infer<typeof MessageSchema>;

export const SendMessageInputSchema = z.object({
  roomId: IdSchema,
  text: MessageTextSchema,
  threadRootId: IdSchema.optional(),
  replyToId: IdSchema.optional(),
  clientMessageId: ClientMessageIdSchema.optional(),
  /** Ids of file records to attach; each must be readable by the sender. */
  attachmentIds: z.array(IdSchema).max(20).default([]),
  metadata: MetadataSchema.default({}),
});
export type SendMessageInput = z.input<typeof SendMessageInputSchema>;

export const EditMessageInputSchema = z.object({
  text: MessageTextSchema,
  metadata: MetadataSchema.optional(),
});
export type EditMessageInput = z.input<typeof EditMessageInputSchema>;

/**
 * One page of history. Without a cursor: the newest `limit` messages. `before`: older than that id.
 * `after`: newer than that id. Messages always come oldest first. `threadRootId` pages a thread's replies
 * instead of the room timeline.
 */
export const HistoryQuerySchema = z
  .object({
    roomId: IdSchema,
    threadRootId: IdSchema.optional(),
    before: IdSchema.optional(),
    after: IdSchema.optional(),
    limit: z.number().int().min(1).max(200).default(50),
  })
  .refine((query) => !(query.before && query.after), {
    message: 'give before or after, not both',
    path: ['before'],
  });
export type HistoryQuery = z.input<typeof HistoryQuerySchema>;

export interface MessagePage {
  /** Oldest first. */
  messages: Message[];
  /** More messages exist beyond this page in the direction asked (older for `before`/none, newer for `after`). */
  hasMore: boolean;
}

export const SearchQuerySchema = z.object({
  query: z.string().trim().min(1).max(256),
  roomId: IdSchema.optional(),
  /** Only results older than this message id (next page). */
  before: IdSchema.optional(),
  limit: z.number().int().min(1).max(100).default(20),
});
export type SearchQuery = z.input<typeof SearchQuerySchema>;
