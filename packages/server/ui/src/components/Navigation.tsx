import type { OutboxEntry } from '@kaiwa/client';
import type { Message, User } from '@kaiwa/protocol';
import type { ComponentChildren, RefObject } from 'preact';
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { useController } from '../hooks';
import { t } from '../i18n';
import { navigation, permalink, permalinkTarget, rememberRoom } from '../navigation';
import { describeError } from './common';
import { lazyComponent } from './lazy';
import { RoomSwitcher } from './RoomSwitcher';

// Opened with the search button or `/`: fetched the first time.
const SearchPanel = lazyComponent(() => import('./rare-screens').then((module) => module.SearchPanel));

/*
 * The chat's ways around: the search and the room switcher (with their shortcuts), permalinks, the room
 * remembered for the next start, jumps to a message in its timeline or thread, and the "new messages below"
 * control of a timeline scrolled up.
 */

/** How long a message jumped to stays highlighted. */
const HIGHLIGHT_MS = 2_500;
/** How long a jump waits for its message to be rendered (a thread still loading). */
const JUMP_WAIT_MS = 6_000;

function useNavigationState() {
  const [state, setState] = useState(navigation.state);
  useEffect(() => navigation.subscribe(() => setState(navigation.state)), []);
  return state;
}

const editable = (target: EventTarget | null) =>
  target instanceof HTMLElement &&
  (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));

/**
 * Search, room switcher, permalinks and the remembered room, for the chat screen. `onNavigate` shows a room
 * or one of its threads (`replace`: without a new history entry).
 */
export function NavigationLayer({
  me,
  roomId,
  onNavigate,
}: {
  me: User;
  roomId: string | null;
  onNavigate: (roomId: string, threadId: string | null, replace?: boolean) => void;
}) {
  const controller = useController();
  const state = useNavigationState();

  useEffect(() => {
    if (roomId) rememberRoom(me.id, roomId);
  }, [me.id, roomId]);

  const openMessage = useCallback(
    async (target: { roomId: string; messageId: string; threadRootId?: string | null }, replace = false) => {
      try {
        const threadRootId =
          target.threadRootId !== undefined
            ? target.threadRootId
            : (
                controller.state.message(target.roomId, target.messageId) ??
                (await controller.rest.getMessage(target.messageId))
              ).threadRootId;
        onNavigate(target.roomId, threadRootId, replace);
        navigation.jumpTo({ roomId: target.roomId, messageId: target.messageId, threadRootId });
      } catch (error) {
        controller.say(t('navigation.openFailed', { error: describeError(error) }));
      }
    },
    [controller, onNavigate],
  );

  // A permalink opens its room at the message, once the room is known.
  const handled = useRef('');
  useEffect(() => {
    const address = `${location.pathname}${location.search}`;
    const target = permalinkTarget(location.pathname, location.search);
    if (!target || handled.current === address || roomId !== target.roomId) return;
    handled.current = address;
    void openMessage(target, true);
  });

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      const ownDialog = (event.target as HTMLElement | null)?.closest?.('.navigation-dialog');
      const otherDialog = !ownDialog && document.querySelector('dialog[open]');
      if ((event.ctrlKey || event.metaKey) && !event.altKey && event.key.toLowerCase() === 'k') {
        if (otherDialog) return;
        event.preventDefault();
        navigation.openSwitcher(!navigation.state.switcher);
      } else if (event.key === '/' && !event.ctrlKey && !event.metaKey && !event.altKey) {
        if (otherDialog || ownDialog || editable(event.target)) return;
        event.preventDefault();
        navigation.openSearch();
      }
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);

  return (
    <>
      {state.search ? (
        <SearchPanel
          currentRoomId={roomId}
          onClose={() => navigation.openSearch(false)}
          onOpen={(message) => {
            navigation.openSearch(false);
            void openMessage({
              roomId: message.roomId,
              messageId: message.id,
              threadRootId: message.threadRootId,
            });
          }}
        />
      ) : null}
      {state.switcher ? (
        <RoomSwitcher
          currentRoomId={roomId}
          onClose={() => navigation.openSwitcher(false)}
          onSelect={(id) => {
            navigation.openSwitcher(false);
            onNavigate(id, null);
            // The new room's message box, once it is there.
            requestAnimationFrame(() => document.querySelector<HTMLElement>('#composer textarea')?.focus());
          }}
        />
      ) : null}
    </>
  );
}

/** Marks a message for a moment (an attribute the views never set, so no render takes it away early). */
function flash(element: HTMLElement): void {
  element.setAttribute('data-jumped', '');
  setTimeout(() => element.removeAttribute('data-jumped'), HIGHLIGHT_MS);
}

/**
 * The timeline's side of navigation: jumps to a message of this room (or this thread), "new messages
 * below" while the reader is scrolled up, back to the bottom when the reader sends or the room changes.
 * Returns the control to render under the scroller.
 */
export function useTimelineNavigation({
  roomId,
  threadRootId,
  scroller,
  stick,
  messages,
  pending,
  me,
}: {
  roomId: string;
  threadRootId: string | null;
  scroller: RefObject<HTMLDivElement>;
  stick: { current: boolean };
  messages: Message[];
  pending: OutboxEntry[];
  me: User;
}): ComponentChildren {
  const controller = useController();
  const { jump } = useNavigationState();
  const [atBottom, setAtBottom] = useState(true);
  const [far, setFar] = useState(false);
  const seen = useRef<string | undefined>(undefined);
  const seenRoom = useRef<string | null>(null);
  const shownRoom = useRef<string | null>(null);
  const lastPending = useRef<string | undefined>(undefined);
  const last = messages.at(-1);
  const pendingKey = pending.at(-1)?.clientMessageId;

  const toBottom = useCallback(() => {
    const element = scroller.current;
    stick.current = true;
    if (element) element.scrollTop = element.scrollHeight;
    setAtBottom(true);
    setFar(false);
  }, [scroller, stick]);

  // Another room, or a message of mine on its way: the bottom.
  useLayoutEffect(() => {
    const roomChanged = shownRoom.current !== roomId;
    const sent = pendingKey !== undefined && pendingKey !== lastPending.current;
    shownRoom.current = roomId;
    lastPending.current = pendingKey;
    if (roomChanged || sent) toBottom();
  });

  useEffect(() => {
    const element = scroller.current;
    if (!element) return;
    const onScroll = () => {
      const distance = element.scrollHeight - element.scrollTop - element.clientHeight;
      setAtBottom(distance < 48);
      setFar(distance > element.clientHeight * 2);
    };
    element.addEventListener('scroll', onScroll, { passive: true });
    return () => element.removeEventListener('scroll', onScroll);
  }, [scroller]);

  // What the reader saw at the bottom; anything newer from someone else is "below".
  if (atBottom || seen.current === undefined || seenRoom.current !== roomId) {
    seen.current = last?.id;
    seenRoom.current = roomId;
  }
  const unseen =
    !atBottom && messages.some((message) => message.id > (seen.current ?? '') && message.authorId !== me.id);

  // A jump to a message of this list: load around it, scroll it to the middle, highlight it.
  useEffect(() => {
    if (!jump || jump.roomId !== roomId || jump.threadRootId !== threadRootId) return;
    let live = true;
    const { nonce, messageId } = jump;
    const deadline = Date.now() + JUMP_WAIT_MS;
    const reveal = () => {
      if (!live) return;
      const element = scroller.current?.querySelector<HTMLElement>(`[data-message-id="${messageId}"]`);
      if (element) {
        stick.current = false;
        element.scrollIntoView({ block: 'center' });
        flash(element);
        navigation.jumpDone(nonce);
      } else if (Date.now() < deadline) {
        setTimeout(reveal, 50);
      } else {
        navigation.jumpDone(nonce);
        controller.say(t('navigation.notFound'));
      }
    };
    const loaded = threadRootId === null ? controller.loadAround(roomId, messageId) : Promise.resolve();
    loaded.then(reveal, (error: unknown) => {
      navigation.jumpDone(nonce);
      controller.say(t('navigation.loadFailed', { error: describeError(error) }));
    });
    return () => {
      live = false;
    };
  }, [jump, roomId, threadRootId, controller, scroller, stick]);

  if (!unseen && !far) return null;
  return (
    <div class="timeline-jump">
      <button type="button" class="timeline-jump-button" onClick={toBottom}>
        {unseen ? t('navigation.newBelow') : t('navigation.jumpLatest')}
        <span aria-hidden="true"> ↓</span>
      </button>
    </div>
  );
}

const LINK_PATHS = [
  'M10 13a5 5 0 0 0 7.5.5l3-3a5 5 0 0 0-7-7l-1.7 1.7',
  'M14 11a5 5 0 0 0-7.5-.5l-3 3a5 5 0 0 0 7 7l1.7-1.7',
];

/** Copies text to the clipboard; falls back to a selection where the Clipboard API is refused. */
async function copyText(text: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
    return;
  } catch {
    // Not allowed here (an insecure origin, a refused permission): the old way.
  }
  const field = document.createElement('textarea');
  field.value = text;
  field.setAttribute('readonly', '');
  field.style.position = 'fixed';
  field.style.opacity = '0';
  document.body.append(field);
  field.select();
  const copied = document.execCommand('copy');
  field.remove();
  if (!copied) throw new Error(t('navigation.copyRefused'));
}

/** The "Copy link" action of a message: its permalink to the clipboard. */
export function CopyLinkButton({ message }: { message: Message }) {
  const controller = useController();
  const [copied, setCopied] = useState(false);
  useEffect(() => {
    if (!copied) return;
    const timer = setTimeout(() => setCopied(false), 2_000);
    return () => clearTimeout(timer);
  }, [copied]);
  return (
    <button
      type="button"
      class="icon-button"
      aria-label={copied ? t('navigation.linkCopied') : t('navigation.copyLink')}
      title={copied ? t('navigation.linkCopied') : t('navigation.copyLink')}
      data-permalink={permalink(message.roomId, message.id)}
      onClick={() =>
        copyText(permalink(message.roomId, message.id)).then(
          () => setCopied(true),
          (error: unknown) => controller.say(t('navigation.copyFailed', { error: describeError(error) })),
        )
      }
    >
      <svg
        class="icon"
        viewBox="0 0 24 24"
        width="18"
        height="18"
        fill="none"
        stroke="currentColor"
        stroke-width="2"
        stroke-linecap="round"
        stroke-linejoin="round"
        aria-hidden="true"
        focusable="false"
      >
        {(copied ? ['M20 6L9 17l-5-5'] : LINK_PATHS).map((d) => (
          <path key={d} d={d} />
        ))}
      </svg>
    </button>
  );
}
