import type { OutboxEntry, RoomEntry, StreamingReply } from '@kaiwa/client';
import type { Message, ServerInfo, User } from '@kaiwa/protocol';
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef } from 'preact/hooks';
import { dayKey, formatDay } from '../format';
import { mayModerate, useController } from '../hooks';
import { getLanguage, t, tRich } from '../i18n';
import { MessageMarkdown } from '../markdown/message-markdown';
import { navigation } from '../navigation';
import { prepareRows } from '../prepare-rows';
import { Composer } from './Composer';
import { PresenceDot } from './common';
import { Icon } from './icons';
import { MessageItem, PendingItem } from './MessageItem';
import { useTimelineNavigation } from './Navigation';
import { RoomDetailsButton } from './RoomDetailsButton';
import { SearchButton } from './SearchButton';
import { WindowedRows } from './WindowedTimeline';

/** Messages by the same author within this long of each other are shown as one group. */
const GROUP_MS = 5 * 60_000;

/**
 * Whether a scrolling list stays at the bottom: only the reader lets go of it, by scrolling up; being near
 * the bottom again takes it back. `onScroll` goes on the scroller. The room's timeline and a thread use it
 * with their {@link WindowedRows}.
 */
export function useReaderStick() {
  const scroller = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  const lastTop = useRef(0);
  /** When the reader last turned the wheel, touched, pressed a key or grabbed the scrollbar here. */
  const readerScrolledAt = useRef(0);

  const onScroll = useCallback(() => {
    const element = scroller.current;
    if (!element) return;
    // Only the reader lets go of the bottom, by scrolling up. An image placeholder swapped for its image
    // shrinks the content (the browser pulls scrollTop up) and the image grows it again before this event
    // runs: that reads as "scrolled up, far from the bottom" but is no reader's doing.
    const top = element.scrollTop;
    if (element.scrollHeight - top - element.clientHeight < 48) stick.current = true;
    else if (top < lastTop.current - 1 && Date.now() - readerScrolledAt.current < 1_000)
      stick.current = false;
    lastTop.current = top;
  }, []);

  useEffect(() => {
    const element = scroller.current;
    if (!element) return;
    const intent = () => {
      readerScrolledAt.current = Date.now();
    };
    // Keys scroll the list last clicked even while the focus is on the page itself.
    const onKey = (event: KeyboardEvent) => {
      if (/^(PageUp|PageDown|ArrowUp|ArrowDown|Home|End| )$/.test(event.key)) intent();
    };
    const kinds = ['wheel', 'touchmove', 'pointerdown', 'keydown'] as const;
    for (const kind of kinds) element.addEventListener(kind, intent, { passive: true });
    document.addEventListener('keydown', onKey);
    return () => {
      for (const kind of kinds) element.removeEventListener(kind, intent);
      document.removeEventListener('keydown', onKey);
    };
  }, []);

  return { scroller, onScroll, stick };
}

/** A message's row as last built, and what it was built from: used again while none of that changed. */
interface BuiltRow {
  message: Message;
  author: User | undefined;
  compact: boolean;
  me: User;
  users: Map<string, User>;
  inThread: boolean;
  onOpenThread: ((rootId: string) => void) | undefined;
  moderate: boolean;
  language: string;
  row: ComponentChildren;
}

/**
 * The rows of a list as last built, by message id (a ref the list keeps). With it a render builds only the
 * rows of new or changed messages: the others are the same descriptors as before, which Preact skips
 * without comparing props, so a page of history arriving costs its 50 rows, not every row loaded.
 */
export type RowCache = { current: Map<string, BuiltRow> };

/** A message's day and time, worked out once per message object (a render reads them for every row). */
const messageTimes = new WeakMap<Message, { day: string; at: number }>();
function timeOf(message: Message): { day: string; at: number } {
  let known = messageTimes.get(message);
  if (!known) {
    known = { day: dayKey(message.createdAt), at: Date.parse(message.createdAt) };
    messageTimes.set(message, known);
  }
  return known;
}

/** The rows of a message list, as an array of keyed items (not a component, so no fragment boundary). */
export function messageRows({
  messages,
  pending,
  streaming = [],
  me,
  users,
  inThread,
  onOpenThread,
  readMarker,
  moderate,
  cache,
}: {
  messages: Message[];
  pending: OutboxEntry[];
  /** Replies the assistant is still writing; each is replaced by its message when that arrives. */
  streaming?: StreamingReply[];
  me: User;
  users: Map<string, User>;
  inThread: boolean;
  onOpenThread?: (rootId: string) => void;
  readMarker?: string | null | undefined;
  /** Whether I may moderate others' messages here (the server's rights for the room). */
  moderate: boolean;
  cache?: RowCache;
}): ComponentChildren[] {
  const rows: ComponentChildren[] = [];
  const built = cache?.current;
  const next = new Map<string, BuiltRow>();
  const language = getLanguage();
  let previous: Message | undefined;
  let dividerShown = readMarker === undefined;
  for (const message of messages) {
    const { day, at } = timeOf(message);
    if (!inThread && (!previous || timeOf(previous).day !== day)) {
      rows.push(
        <li key={`day-${day}`} class="day-divider">
          <span>{formatDay(message.createdAt)}</span>
        </li>,
      );
      previous = undefined;
    }
    if (
      !dividerShown &&
      message.authorId !== me.id &&
      (readMarker === null || message.id > (readMarker ?? ''))
    ) {
      dividerShown = true;
      rows.push(
        <li key="new-divider" class="new-divider">
          <span>{t('room.newMessages')}</span>
        </li>,
      );
      previous = undefined;
    }
    const compact =
      previous !== undefined &&
      previous.authorId === message.authorId &&
      previous.deletedAt === null &&
      at - timeOf(previous).at < GROUP_MS;
    const author = users.get(message.authorId);
    let row = built?.get(message.id);
    if (
      !row ||
      row.message !== message ||
      row.author !== author ||
      row.compact !== compact ||
      row.me !== me ||
      row.users !== users ||
      row.inThread !== inThread ||
      row.onOpenThread !== onOpenThread ||
      row.moderate !== moderate ||
      row.language !== language
    ) {
      row = {
        message,
        author,
        compact,
        me,
        users,
        inThread,
        onOpenThread,
        moderate,
        language,
        row: (
          <MessageItem
            key={message.id}
            message={message}
            author={author}
            me={me}
            users={users}
            compact={compact}
            inThread={inThread}
            onOpenThread={onOpenThread}
            moderate={moderate}
          />
        ),
      };
    }
    next.set(message.id, row);
    rows.push(row.row);
    previous = message;
  }
  if (cache) cache.current = next;
  for (const entry of pending) rows.push(<PendingItem key={entry.clientMessageId} entry={entry} me={me} />);
  for (const stream of streaming) {
    rows.push(
      <StreamingItem
        key={stream.streamId}
        stream={stream}
        author={users.get(stream.authorId)}
        users={users}
      />,
    );
  }
  return rows;
}

/** A reply being generated: its text so far, growing with every `message.delta`. */
function StreamingItem({
  stream,
  author,
  users,
}: {
  stream: StreamingReply;
  author: User | undefined;
  users: Map<string, User>;
}) {
  return (
    <li class="message streaming" data-stream-id={stream.streamId} aria-busy="true">
      <div class="message-body">
        <div class="message-meta">
          <span class="author">{author?.displayName ?? t('room.assistant')}</span>
          <span class="send-state" role="status">
            {t('room.writing')}
          </span>
        </div>
        <div class="message-text">
          <MessageMarkdown text={stream.text} users={users} />
        </div>
      </div>
    </li>
  );
}

function TypingIndicator({ entry }: { entry: RoomEntry }) {
  const controller = useController();
  const names = [...entry.typing.keys()].map((id) => controller.state.nameOf(id));
  let text = '';
  if (names.length === 1) text = t('room.typingOne', { name: names[0] ?? '' });
  else if (names.length === 2) text = t('room.typingTwo', { first: names[0] ?? '', second: names[1] ?? '' });
  else if (names.length > 2) text = t('room.typingMany');
  return (
    <p class="typing" aria-live="polite">
      {text}
    </p>
  );
}

export function RoomView({
  entry,
  me,
  server,
  onOpenThread,
  detailsOpen = false,
  onToggleDetails,
}: {
  entry: RoomEntry;
  me: User;
  server: ServerInfo;
  onOpenThread: (rootId: string) => void;
  /** Whether the room details panel is open, and the header button that opens and closes it. */
  detailsOpen?: boolean;
  onToggleDetails?: () => void;
}) {
  const controller = useController();
  const state = controller.state;
  const roomId = entry.room.id;
  const messages = state.timeline(roomId);
  const pending = state.pending(roomId, null);
  const streaming = state.streaming(roomId, null);
  const { scroller, onScroll, stick } = useReaderStick();
  const { jump } = navigation.state;
  const rowCache: RowCache = useRef(new Map<string, BuiltRow>());
  const jumpControl = useTimelineNavigation({
    roomId,
    threadRootId: null,
    scroller,
    stick,
    messages,
    pending,
    me,
  });
  const title = state.roomTitle(roomId);
  const peer = state.directPeer(roomId);
  const members = entry.memberIds ?? [];
  const online = members.filter((id) => id === me.id || state.presence.get(id) === 'online').length;

  // Infinite scroll: near the top, the page before the oldest message is loaded.
  const maybeLoadOlder = useCallback(() => {
    const element = scroller.current;
    const current = state.rooms.get(roomId);
    if (!element || !current?.historyLoaded || !current.hasOlder || current.loadingOlder) return;
    if (element.scrollTop < 200) void controller.loadOlder(roomId);
  }, [controller, state, roomId, scroller]);
  // Rows that arrived (a page of history, a new message) are prepared in idle time, before they are shown.
  useEffect(() => prepareRows(messages), [messages]);
  useEffect(() => {
    maybeLoadOlder();
  });

  return (
    <section class="room" aria-labelledby="room-title">
      <div class="room-header">
        <h1 id="room-title">
          {entry.room.kind === 'direct' ? (
            <PresenceDot status={peer ? state.presence.get(peer) : undefined} />
          ) : (
            <Icon name={entry.room.kind === 'group' ? 'lock' : 'hash'} />
          )}
          <span>{title}</span>
        </h1>
        {entry.room.topic ? <p class="topic">{entry.room.topic}</p> : null}
        {entry.room.kind !== 'direct' && entry.memberIds ? (
          <p class="member-count">
            {t('room.members', { count: members.length })} · {t('room.online', { count: online })}
          </p>
        ) : null}
        <SearchButton />
        {onToggleDetails ? <RoomDetailsButton open={detailsOpen} onClick={onToggleDetails} /> : null}
      </div>
      <div
        class="message-scroller"
        ref={scroller}
        onScroll={() => {
          onScroll();
          maybeLoadOlder();
        }}
      >
        <div>
          {entry.historyLoaded && !entry.hasOlder ? (
            <div class="room-start">
              <p>
                {tRich('room.start', {
                  name: (
                    <strong>
                      {entry.room.kind === 'direct'
                        ? t('room.conversationWith', { name: title })
                        : `#${title}`}
                    </strong>
                  ),
                })}
              </p>
            </div>
          ) : entry.historyLoaded ? (
            <div class="load-older">
              <button
                type="button"
                class="button small"
                disabled={entry.loadingOlder}
                onClick={() => controller.loadOlder(roomId)}
              >
                {entry.loadingOlder ? t('common.loading') : t('room.loadOlder')}
              </button>
            </div>
          ) : (
            <p class="loading" role="status">
              {t('room.loadingMessages')}
            </p>
          )}
          {/* The log wraps the list: a role on the <ol> itself would take its list semantics away. */}
          <div
            role="log"
            aria-live="polite"
            aria-relevant="additions"
            aria-label={t('room.messagesIn', { name: title })}
          >
            <WindowedRows
              scroller={scroller}
              stick={stick}
              focus={jump?.roomId === roomId && jump.threadRootId === null ? jump.messageId : undefined}
              rows={messageRows({
                messages,
                pending,
                streaming,
                me,
                users: state.users,
                inThread: false,
                onOpenThread,
                readMarker: entry.readMarkerAtOpen,
                moderate: mayModerate(controller, roomId),
                cache: rowCache,
              })}
            />
          </div>
        </div>
      </div>
      {jumpControl}
      <TypingIndicator entry={entry} />
      <Composer
        key={roomId}
        id="composer"
        roomId={roomId}
        server={server}
        label={
          entry.room.kind === 'direct'
            ? t('room.messageDirect', { name: title })
            : t('room.messageRoom', { name: title })
        }
      />
    </section>
  );
}
