import { fileContentUrl as fileUrl, mentionsUser, type OutboxEntry } from '@kaiwa/client';
import type { Attachment, Message, User } from '@kaiwa/protocol';
import { useId, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { useEditRequest } from '../edit-request';
import { formatFull, formatShortTime, formatSize, formatTime } from '../format';
import { memo, useController, useFileUrl } from '../hooks';
import { t } from '../i18n';
import { MessageMarkdown } from '../markdown/message-markdown';
import { Avatar, describeError } from './common';
import { Icon } from './icons';
import { Lightbox, lightboxImageAttributes } from './Lightbox';
import { lazyComponent } from './lazy';
import { CopyLinkButton } from './Navigation';
import { ReadAloudButton } from './ReadAloudButton';
import { SpokenReplyState, VoicePlayer, VoiceTranscript } from './VoicePlayer';
import { WorkflowByline } from './WorkflowByline';

// Opened from the message toolbar only: fetched the first time they are shown.
const EmojiPicker = lazyComponent(() => import('./rare-screens').then((module) => module.EmojiPicker));
const CreateTicketButton = lazyComponent(() =>
  import('./rare-screens').then((module) => module.CreateTicketButton),
);

/** The address of a channel the reader knows, by name, for `#room` links in messages. */
function useRoomHref(): (name: string) => string | undefined {
  const controller = useController();
  return (name) => {
    const lower = name.toLowerCase();
    for (const entry of controller.state.rooms.values()) {
      if (entry.room.kind !== 'direct' && entry.room.name?.toLowerCase() === lower)
        return `/rooms/${entry.room.id}`;
    }
    return undefined;
  };
}

/** Downloads a file: fetched with the token, then saved under its name. */
function useDownload() {
  const controller = useController();
  return async (event: Event, attachment: Attachment) => {
    event.preventDefault();
    try {
      const href = await controller.fileUrl(attachment.fileId);
      const link = document.createElement('a');
      link.href = href;
      link.download = attachment.name;
      link.rel = 'noopener';
      document.body.append(link);
      link.click();
      link.remove();
    } catch (error) {
      controller.say(t('message.downloadFailed', { name: attachment.name, error: describeError(error) }));
    }
  };
}

function ImageAttachment({ attachment }: { attachment: Attachment }) {
  const url = useFileUrl(attachment.fileId);
  const [viewing, setViewing] = useState<HTMLElement | null>(null);
  return (
    <>
      <a
        class="attachment-image"
        href={fileUrl(attachment.fileId, true)}
        {...lightboxImageAttributes(attachment)}
        onClick={(event) => {
          event.preventDefault();
          setViewing(event.currentTarget);
        }}
        aria-label={t('message.viewImage', { name: attachment.name, size: formatSize(attachment.size) })}
      >
        {url ? <img src={url} alt={attachment.name} loading="lazy" /> : <span class="image-placeholder" />}
      </a>
      {viewing ? (
        <Lightbox attachment={attachment} origin={viewing} onClose={() => setViewing(null)} />
      ) : null}
    </>
  );
}

/** A text file's first lines, or a PDF's pages, in the lightbox. */
function TextPreviewButton({ attachment }: { attachment: Attachment }) {
  const [viewing, setViewing] = useState<HTMLElement | null>(null);
  return (
    <>
      <button
        type="button"
        class="button small attachment-preview"
        aria-label={t('message.previewNamed', { name: attachment.name })}
        onClick={(event) => setViewing(event.currentTarget)}
      >
        {t('message.preview')}
      </button>
      {viewing ? (
        <Lightbox attachment={attachment} origin={viewing} onClose={() => setViewing(null)} />
      ) : null}
    </>
  );
}

export function Attachments({ attachments }: { attachments: Attachment[] }) {
  const download = useDownload();
  if (attachments.length === 0) return null;
  return (
    <ul class="attachments" aria-label={t('message.attachments')}>
      {attachments.map((attachment) => (
        <li key={attachment.fileId}>
          {attachment.mimeType.startsWith('audio/') ? (
            <VoicePlayer attachment={attachment} />
          ) : attachment.mimeType.startsWith('image/') && attachment.mimeType !== 'image/svg+xml' ? (
            <ImageAttachment attachment={attachment} />
          ) : (
            <a
              class="attachment-file"
              href={fileUrl(attachment.fileId, true)}
              download={attachment.name}
              onClick={(event) => download(event, attachment)}
            >
              <Icon name="file" />
              <span class="attachment-name">{attachment.name}</span>
              <span class="attachment-size">{formatSize(attachment.size)}</span>
            </a>
          )}
          {attachment.mimeType.startsWith('text/') || attachment.mimeType === 'application/pdf' ? (
            <TextPreviewButton attachment={attachment} />
          ) : null}
        </li>
      ))}
    </ul>
  );
}

function Reactions({ message, me, users }: { message: Message; me: User; users: Map<string, User> }) {
  const controller = useController();
  if (message.reactions.length === 0) return null;
  return (
    <ul class="reactions" aria-label={t('message.reactions')}>
      {message.reactions.map((reaction) => {
        const mine = reaction.userIds.includes(me.id);
        const names = reaction.userIds.map((id) =>
          id === me.id ? t('message.you') : (users.get(id)?.displayName ?? t('message.someone')),
        );
        return (
          <li key={reaction.emoji}>
            <button
              type="button"
              class={`reaction${mine ? ' mine' : ''}`}
              aria-pressed={mine}
              aria-label={t(mine ? 'message.reactionMine' : 'message.reactionOthers', {
                emoji: reaction.emoji,
                count: reaction.count,
                names: names.join(t('common.separator')),
              })}
              title={names.join(t('common.separator'))}
              onClick={() => controller.react(message, reaction.emoji, !mine)}
            >
              <span class="reaction-emoji">{reaction.emoji}</span>
              <span class="reaction-count">{reaction.count}</span>
            </button>
          </li>
        );
      })}
    </ul>
  );
}

function EditForm({ message, onDone }: { message: Message; onDone: () => void }) {
  const controller = useController();
  const [text, setText] = useState(message.text);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const id = useId();
  const ref = useRef<HTMLTextAreaElement>(null);
  // Before the browser paints, so typing that starts at once is never cut by the caret moving.
  useLayoutEffect(() => {
    const field = ref.current;
    if (!field) return;
    field.focus();
    field.setSelectionRange(field.value.length, field.value.length);
  }, []);
  const save = async () => {
    if (!text.trim()) return;
    if (text === message.text) return onDone();
    setBusy(true);
    try {
      await controller.edit(message, text);
      onDone();
    } catch (caught) {
      setError(describeError(caught));
      setBusy(false);
    }
  };
  return (
    <form
      class="edit-form"
      onSubmit={(event) => {
        event.preventDefault();
        void save();
      }}
    >
      <label for={id} class="visually-hidden">
        {t('message.edit')}
      </label>
      <textarea
        id={id}
        ref={ref}
        value={text}
        rows={2}
        onInput={(event) => setText(event.currentTarget.value)}
        onKeyDown={(event) => {
          if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
            event.preventDefault();
            void save();
          } else if (event.key === 'Escape') {
            event.preventDefault();
            onDone();
          }
        }}
      />
      {error ? (
        <p class="error-text" role="alert">
          {error}
        </p>
      ) : null}
      <div class="edit-actions">
        <button type="submit" class="button primary small" disabled={busy || !text.trim()}>
          {t('message.save')}
        </button>
        <button type="button" class="button small" onClick={onDone}>
          {t('common.cancel')}
        </button>
        <span class="hint">{t('message.editHint')}</span>
      </div>
    </form>
  );
}

export interface MessageItemProps {
  message: Message;
  author: User | undefined;
  me: User;
  users: Map<string, User>;
  compact: boolean;
  inThread: boolean;
  onOpenThread?: ((rootId: string) => void) | undefined;
  /** Whether I may moderate others' messages in this room (the server's rights for it: `mayModerate`). */
  moderate: boolean;
}

function MessageItemView({
  message,
  author,
  me,
  users,
  compact,
  inThread,
  onOpenThread,
  moderate,
}: MessageItemProps) {
  const controller = useController();
  const roomHref = useRoomHref();
  const [editing, setEditing] = useState(false);
  const [picking, setPicking] = useState(false);
  const reactButton = useRef<HTMLButtonElement>(null);
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<string | null>(null);
  // The actions toolbar (about 36 elements) is built the first time this message is pointed at, focused
  // or tapped, not for every message of a long history; once built it stays (CSS shows and hides it).
  const [actionsWanted, setActionsWanted] = useState(false);
  const wantActions = () => {
    if (!actionsWanted) setActionsWanted(true);
  };
  const deleted = message.deletedAt !== null;
  const mine = message.authorId === me.id;
  const mentioned = !mine && !deleted && mentionsUser(message, me.id);
  const name = author?.displayName ?? t('message.someone');
  const canThread = !inThread && message.threadRootId === null && onOpenThread !== undefined;
  useEditRequest(message.id, mine && !deleted, setEditing);

  const remove = async () => {
    setConfirming(false);
    try {
      await controller.remove(message);
    } catch (caught) {
      setError(describeError(caught));
    }
  };

  return (
    <li
      class={`message${compact ? ' compact' : ''}${deleted ? ' deleted' : ''}${mine ? ' mine' : ''}${mentioned ? ' mentions-me' : ''}`}
      data-message-id={message.id}
      // Focusable by a tap, so a touch screen shows this message's actions (:focus-within) and no other's,
      // and by Tab: the keyboard reaches each message, which builds its actions, then those actions.
      // biome-ignore lint/a11y/noNoninteractiveTabindex: the way to a message's actions, built on focus.
      tabIndex={0}
      onPointerEnter={(event) => {
        if (event.pointerType !== 'touch') wantActions();
      }}
      // Also when the row moved under a resting pointer (a list that scrolled or grew), which enters nothing.
      onPointerMove={
        actionsWanted
          ? undefined
          : (event) => {
              if (event.pointerType !== 'touch') wantActions();
            }
      }
      onFocusCapture={wantActions}
    >
      <div class="message-gutter">
        {compact ? (
          <time class="gutter-time" dateTime={message.createdAt} title={formatFull(message.createdAt)}>
            {formatShortTime(message.createdAt)}
          </time>
        ) : (
          <Avatar user={author} />
        )}
      </div>
      <div class="message-body">
        {compact ? (
          <span class="visually-hidden">{name}: </span>
        ) : (
          <div class="message-meta">
            <span class="author">{name}</span>
            <WorkflowByline message={message} author={author} users={users} />
            <time dateTime={message.createdAt} title={formatFull(message.createdAt)}>
              {formatTime(message.createdAt)}
            </time>
          </div>
        )}
        {deleted ? (
          <p class="tombstone">{t('message.deleted')}</p>
        ) : editing ? (
          <EditForm message={message} onDone={() => setEditing(false)} />
        ) : (
          <div class="message-text">
            <MessageMarkdown
              text={message.text}
              users={users}
              me={me}
              roomHref={roomHref}
              trailing={
                message.editedAt ? (
                  <span class="edited" title={t('message.editedAt', { time: formatFull(message.editedAt) })}>
                    {' '}
                    {t('message.edited')}
                  </span>
                ) : undefined
              }
            />
          </div>
        )}
        {deleted ? null : <Attachments attachments={message.attachments} />}
        {deleted ? null : <VoiceTranscript message={message} me={me} moderate={moderate} />}
        {deleted ? null : <SpokenReplyState message={message} />}
        {deleted ? null : <Reactions message={message} me={me} users={users} />}
        {canThread && message.replyCount > 0 ? (
          <button type="button" class="thread-link" onClick={() => onOpenThread?.(message.id)}>
            {t('thread.replies', { count: message.replyCount })}
            {message.lastReplyAt ? (
              <span class="muted">{t('message.lastReply', { time: formatTime(message.lastReplyAt) })}</span>
            ) : null}
          </button>
        ) : null}
        {confirming ? (
          <div class="confirm">
            <span>{t('message.confirmDelete')}</span>
            <button type="button" class="button danger small" onClick={remove}>
              {t('message.delete')}
            </button>
            <button type="button" class="button small" onClick={() => setConfirming(false)}>
              {t('common.cancel')}
            </button>
          </div>
        ) : null}
        {error ? (
          <p class="error-text" role="alert">
            {error}
          </p>
        ) : null}
      </div>
      {deleted || editing || !actionsWanted ? null : (
        <div
          class={`message-actions${picking ? ' open' : ''}`}
          role="toolbar"
          aria-label={t('message.actions', { name })}
        >
          <button
            type="button"
            class="icon-button"
            ref={reactButton}
            aria-label={t('message.addReaction')}
            aria-expanded={picking}
            title={t('message.addReaction')}
            onClick={() => setPicking(!picking)}
          >
            <Icon name="smile" />
          </button>
          {canThread ? (
            <button
              type="button"
              class="icon-button"
              aria-label={t('thread.replyInThread')}
              title={t('thread.replyInThread')}
              onClick={() => onOpenThread?.(message.id)}
            >
              <Icon name="thread" />
            </button>
          ) : null}
          <CopyLinkButton message={message} />
          <ReadAloudButton message={message} />
          <CreateTicketButton message={message} />
          {mine ? (
            <button
              type="button"
              class="icon-button"
              aria-label={t('message.edit')}
              title={t('message.editShort')}
              onClick={() => setEditing(true)}
            >
              <Icon name="edit" />
            </button>
          ) : null}
          {mine || moderate ? (
            <button
              type="button"
              class="icon-button"
              aria-label={t('message.deleteMessage')}
              title={t('message.delete')}
              onClick={() => setConfirming(true)}
            >
              <Icon name="trash" />
            </button>
          ) : null}
          {picking ? (
            <EmojiPicker
              anchor={reactButton.current}
              label={t('message.pickReaction')}
              verb={t('message.reactWith')}
              onClose={() => setPicking(false)}
              onPick={(emoji) => {
                setPicking(false);
                const existing = message.reactions.find((reaction) => reaction.emoji === emoji);
                void controller.react(message, emoji, !existing?.userIds.includes(me.id));
              }}
            />
          ) : null}
        </div>
      )}
    </li>
  );
}

export const MessageItem = memo(MessageItemView);

/** A message that is on its way (or failed), shown where it will appear. */
export function PendingItem({ entry, me }: { entry: OutboxEntry; me: User }) {
  const controller = useController();
  const failed = entry.state === 'failed';
  return (
    <li class={`message pending${failed ? ' failed' : ''}`} data-client-message-id={entry.clientMessageId}>
      <div class="message-gutter">
        <Avatar user={me} />
      </div>
      <div class="message-body">
        <div class="message-meta">
          <span class="author">{me.displayName}</span>
          <span class="send-state" role="status">
            {failed ? t('message.notSent') : t('message.sending')}
          </span>
        </div>
        <div class="message-text">
          <MessageMarkdown text={entry.text} users={controller.state.users} me={me} />
        </div>
        {entry.attachments.length > 0 ? (
          <ul class="attachments">
            {entry.attachments.map((attachment) => (
              <li key={attachment.fileId} class="attachment-file">
                <Icon name="file" />
                <span class="attachment-name">{attachment.name}</span>
              </li>
            ))}
          </ul>
        ) : null}
        {failed ? (
          <div class="confirm" role="alert">
            <span>{entry.error ?? t('message.wasNotSent')}</span>
            <button
              type="button"
              class="button small"
              onClick={() => controller.retry(entry.clientMessageId)}
            >
              {t('message.retry')}
            </button>
            <button
              type="button"
              class="button small"
              onClick={() => controller.discard(entry.clientMessageId)}
            >
              {t('message.discard')}
            </button>
          </div>
        ) : null}
      </div>
    </li>
  );
}
