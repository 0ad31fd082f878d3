import type { OutboxEntry, RoomEntry, StreamingReply } from '@kaiwa/client';
import type { Message, ServerInfo, User } from '@kaiwa/protocol';
import type { ComponentChildren, RefObject, VNode } from 'preact';
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { dayKey, formatDay } from '../format';
import { useController } from '../hooks';
import { t, tRich } from '../i18n';
import { MessageMarkdown } from '../markdown/message-markdown';
import { navigation } from '../navigation';
import { coversView, rowAt, rowOffsets, rowWindow } from '../timeline-window';
import { Composer } from './Composer';
import { PresenceDot } from './common';
import { Icon } from './icons';
import { MessageItem, PendingItem } from './MessageItem';
import { useTimelineNavigation } from './Navigation';
import { RoomDetailsButton } from './RoomDetailsPanel';
import { SearchButton } from './SearchPanel';

/** Messages by the same author within this long of each other are shown as one group. */
const GROUP_MS = 5 * 60_000;

/**
 * Whether a scrolling list stays at the bottom: only the reader lets go of it, by scrolling up; being near
 * the bottom again takes it back. `onScroll` goes on the scroller.
 */
function useReaderStick() {
  const scroller = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  const lastTop = useRef(0);
  /** When the reader last turned the wheel, touched, pressed a key or grabbed the scrollbar here. */
  const readerScrolledAt = useRef(0);

  const onScroll = useCallback(() => {
    const element = scroller.current;
    if (!element) return;
    // An image placeholder swapped for its image shrinks the content (the browser pulls scrollTop up) and
    // the image grows it again before this event runs: that reads as "scrolled up, far from the bottom"
    // but is no reader's doing.
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

/**
 * Keeps a scrolling list at the bottom while the reader is there (new messages, images loading), and in
 * place when older messages are added above. For short lists (a thread); the room's timeline is windowed.
 */
export function useStickyScroll(firstKey: string | undefined) {
  const { scroller, onScroll, stick } = useReaderStick();
  const content = useRef<HTMLDivElement>(null);
  const previous = useRef<{ first: string | undefined; height: number }>({ first: undefined, height: 0 });

  useLayoutEffect(() => {
    const element = scroller.current;
    if (!element) return;
    const { first, height } = previous.current;
    if (!stick.current && first !== undefined && firstKey !== first && height > 0) {
      element.scrollTop += element.scrollHeight - height;
    } else if (stick.current) {
      element.scrollTop = element.scrollHeight;
    }
    previous.current = { first: firstKey, height: element.scrollHeight };
  });

  useEffect(() => {
    const element = scroller.current;
    const inner = content.current;
    if (!element || !inner || typeof ResizeObserver === 'undefined') return;
    const observer = new ResizeObserver(() => {
      if (stick.current) element.scrollTop = element.scrollHeight;
      previous.current = { ...previous.current, height: element.scrollHeight };
    });
    observer.observe(inner);
    return () => observer.disconnect();
  }, [scroller, stick]);

  return { scroller, content, onScroll, stick };
}

/** Pixels of rows rendered beyond the view on each side, and the least left before more are rendered. */
const OVERSCAN_PX = 800;
const MARGIN_PX = 200;
/**
 * Up to this many rows all are rendered: cheap at that size (a few history pages), and the browser's find
 * in page and a screen reader's browse mode then reach every loaded message.
 */
const ALL_ROWS_UP_TO = 200;
/** The height assumed for a row until it has been on screen once. */
const ESTIMATED_ROW_PX = 60;

/** Where the reader is: the row at the top of the view, and how far the view's top is below that row's top. */
interface Anchor {
  key: string;
  delta: number;
}

/** What the last render showed: rows `start`–`end` of `keys`, with `after` pixels of spacer below them. */
interface Shown {
  keys: string[];
  index: Map<string, number>;
  offsets: number[];
  start: number;
  end: number;
  after: number;
}

/** Where the view's top is: the rendered row there, or an estimate from the offsets beyond those rows. */
function readAnchor(element: HTMLElement, rendered: HTMLElement, current: Shown): Anchor | null {
  const viewTop = element.getBoundingClientRect().top;
  const children = rendered.children;
  for (let position = 0; position < children.length; position += 1) {
    const box = children[position]!.getBoundingClientRect();
    if (box.bottom <= viewTop) continue;
    const key = current.keys[current.start + position];
    if (box.top <= viewTop && key !== undefined) return { key, delta: viewTop - box.top };
    break;
  }
  const y = viewTop - rendered.getBoundingClientRect().top;
  const row = rowAt(current.offsets, y);
  const key = current.keys[row];
  return key === undefined ? null : { key, delta: y - (current.offsets[row] ?? 0) };
}

/**
 * The room's timeline, windowed: past `ALL_ROWS_UP_TO` rows only those near the view are in the DOM, the
 * others are the list's padding, at their measured heights (or an estimate until first shown). The
 * reader's place is kept as an anchor row, not a scrollTop, so rows added above (older pages), rows growing (images,
 * reactions) and estimates corrected by measurement do not move what is on screen. At the bottom it stays
 * at the bottom; `focus` (a jump to a message) puts that row in the middle of the view.
 */
function WindowedRows({
  rows,
  scroller,
  stick,
  focus,
}: {
  rows: VNode[];
  scroller: RefObject<HTMLDivElement>;
  stick: { current: boolean };
  focus: string | undefined;
}) {
  const list = useRef<HTMLOListElement>(null);
  const heights = useRef(new Map<string, number>());
  const anchor = useRef<Anchor | null>(null);
  const viewport = useRef(0);
  const shown = useRef<Shown | null>(null);
  const tries = useRef(0);
  const [, rerender] = useState(0);

  const keys = rows.map((row) => String(row.key));
  const index = new Map(keys.map((key, position) => [key, position]));
  const offsets = rowOffsets(keys.map((key) => heights.current.get(key) ?? ESTIMATED_ROW_PX));
  const total = offsets[keys.length] ?? 0;
  const viewHeight = viewport.current || globalThis.innerHeight || 800;
  // Until the jump is done (the message scrolled into view), its row is where the view is, whatever else
  // moved the view meanwhile (the room opening at the bottom).
  if (focus && index.has(focus)) {
    stick.current = false;
    const height = heights.current.get(focus) ?? ESTIMATED_ROW_PX;
    anchor.current = { key: focus, delta: -Math.max(0, viewHeight - height) / 2 };
  }
  const anchored = anchor.current ? index.get(anchor.current.key) : undefined;
  const top =
    stick.current || anchored === undefined
      ? total - viewHeight
      : (offsets[anchored] ?? 0) + (anchor.current?.delta ?? 0);
  const { start, end } =
    keys.length <= ALL_ROWS_UP_TO
      ? { start: 0, end: keys.length }
      : rowWindow(offsets, top, viewHeight, OVERSCAN_PX);
  const before = offsets[start] ?? 0;
  const after = total - (offsets[end] ?? total);
  shown.current = { keys, index, offsets, start, end, after };

  /** Whether the rendered rows still cover the view, with the margin to spare. */
  const covered = useCallback((element: HTMLElement, rendered: HTMLElement, current: Shown) => {
    const view = element.getBoundingClientRect();
    const first = rendered.firstElementChild?.getBoundingClientRect();
    const last = rendered.lastElementChild?.getBoundingClientRect();
    return coversView(
      {
        top: first?.top ?? Number.POSITIVE_INFINITY,
        bottom: last?.bottom ?? Number.NEGATIVE_INFINITY,
        first: current.start === 0,
        last: current.end === current.keys.length,
      },
      { top: view.top, bottom: view.bottom },
      MARGIN_PX,
    );
  }, []);

  /**
   * Renders again where the rows do not cover the view. A few tries at most between two scroll events: a
   * window computed from estimates may take a second render once its rows are measured, never more.
   */
  const cover = useCallback(
    (element: HTMLElement, rendered: HTMLElement, current: Shown) => {
      if (covered(element, rendered, current)) tries.current = 0;
      else if (tries.current++ < 4) rerender((count) => count + 1);
    },
    [covered],
  );

  /** Measures the rendered rows, then puts the view back on its anchor (or the bottom). */
  const settle = useCallback(() => {
    const element = scroller.current;
    const rendered = list.current;
    const current = shown.current;
    if (!element || !rendered || !current) return;
    viewport.current = element.clientHeight;
    const children = Array.from(rendered.children);
    // A row's height is the distance to the next one's top, so dividers' margins count.
    const tops = children.map((child) => child.getBoundingClientRect().top);
    const bottom = rendered.getBoundingClientRect().bottom - current.after;
    for (const [position, rowTop] of tops.entries()) {
      const key = current.keys[current.start + position];
      if (key !== undefined) heights.current.set(key, (tops[position + 1] ?? bottom) - rowTop);
    }
    if (!stick.current && !anchor.current) anchor.current = readAnchor(element, rendered, current);
    const place = anchor.current;
    const anchorAt = place ? current.index.get(place.key) : undefined;
    if (stick.current) {
      element.scrollTop = element.scrollHeight;
    } else if (place && anchorAt !== undefined && anchorAt >= current.start && anchorAt < current.end) {
      const rowTop = tops[anchorAt - current.start] ?? 0;
      const offset = rowTop - element.getBoundingClientRect().top + place.delta;
      if (Math.abs(offset) >= 1) element.scrollTop += offset;
    }
    cover(element, rendered, current);
  }, [scroller, stick, cover]);

  useLayoutEffect(settle);

  useEffect(() => {
    const element = scroller.current;
    const rendered = list.current;
    if (!element || !rendered) return;
    const onScroll = () => {
      const current = shown.current;
      if (!current) return;
      anchor.current = readAnchor(element, rendered, current);
      tries.current = 0;
      cover(element, rendered, current);
    };
    element.addEventListener('scroll', onScroll, { passive: true });
    // Rows growing or shrinking (images, reactions, edits) and the view resized: measure and hold the place.
    const observer = typeof ResizeObserver === 'undefined' ? undefined : new ResizeObserver(() => settle());
    observer?.observe(element);
    observer?.observe(rendered);
    return () => {
      element.removeEventListener('scroll', onScroll);
      observer?.disconnect();
    };
  }, [scroller, settle, cover]);

  return (
    <ol class="message-list" ref={list} style={{ paddingTop: `${before}px`, paddingBottom: `${after}px` }}>
      {rows.slice(start, end)}
    </ol>
  );
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
}): ComponentChildren[] {
  const rows: ComponentChildren[] = [];
  let previous: Message | undefined;
  let dividerShown = readMarker === undefined;
  for (const message of messages) {
    const day = dayKey(message.createdAt);
    if (!inThread && (!previous || dayKey(previous.createdAt) !== day)) {
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
      Date.parse(message.createdAt) - Date.parse(previous.createdAt) < GROUP_MS;
    rows.push(
      <MessageItem
        key={message.id}
        message={message}
        author={users.get(message.authorId)}
        me={me}
        users={users}
        compact={compact}
        inThread={inThread}
        onOpenThread={onOpenThread}
      />,
    );
    previous = message;
  }
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
              rows={
                messageRows({
                  messages,
                  pending,
                  streaming,
                  me,
                  users: state.users,
                  inThread: false,
                  onOpenThread,
                  readMarker: entry.readMarkerAtOpen,
                }) as VNode[]
              }
              scroller={scroller}
              stick={stick}
              focus={jump?.roomId === roomId && jump.threadRootId === null ? jump.messageId : undefined}
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
