import {
  attentionCounts,
  type KaiwaChatClient,
  mentionsUser,
  type RoomEntry,
  titleWithCounts,
  wantsNotification,
} from '@kaiwa/client';
import type { Message } from '@kaiwa/protocol';
import { useEffect, useMemo, useRef } from 'preact/hooks';
import { t } from './i18n';

/*
 * Desktop notifications and the tab title. A notification goes out for a live message (never one replayed
 * after a reconnect, never my own) that the room's level asks for, while the tab is hidden or another room is
 * open; muted rooms never notify. Permission is never asked on page load: the first mention offers it in a
 * banner (a click on it is the user gesture browsers want), and the bell in the sidebar turns it on or off.
 */

const SETTING_KEY = 'kaiwa.notifications';
const PROMPT_KEY = 'kaiwa.notifications.prompt';
const BODY_LENGTH = 180;

export type RoomOpener = (roomId: string, threadId: string | null) => void;

/** What the bell and the banner show. */
export type NotificationSetting = 'unsupported' | 'blocked' | 'on' | 'off' | 'ask';

function notificationApi(): typeof Notification | undefined {
  return typeof Notification === 'function' ? Notification : undefined;
}

function stored(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

function store(key: string, value: string): void {
  try {
    localStorage.setItem(key, value);
  } catch {
    // Storage off: the choice lasts as long as the page.
  }
}

/**
 * The browser's permission as last read. Chromium answers `Notification.permission` with a synchronous call to
 * its browser process, and the bell and the banner read the setting on every render of the chat (a scroll-back
 * through 2,000 messages spent ~0.3 s there on a busy machine), so it is read once and again only when it may
 * have changed: after asking, when the Permissions API says it changed, and when the page becomes visible
 * again (the user may have changed it in the browser's site settings meanwhile, in a browser without that API).
 */
let knownPermission: NotificationPermission | undefined;
const permissionListeners = new Set<() => void>();
let watchingPermission = false;

function permissionOf(api: typeof Notification): NotificationPermission {
  if (knownPermission === undefined) {
    knownPermission = api.permission;
    watchPermission();
  }
  return knownPermission;
}

/** Forgets the permission read; the next read asks the browser, and the listeners render again. */
function permissionMayHaveChanged(): void {
  knownPermission = undefined;
  for (const listener of permissionListeners) listener();
}

function watchPermission(): void {
  if (watchingPermission || typeof navigator === 'undefined' || !navigator.permissions?.query) return;
  watchingPermission = true;
  navigator.permissions.query({ name: 'notifications' }).then(
    (status) => status.addEventListener('change', permissionMayHaveChanged),
    () => {
      watchingPermission = false;
    },
  );
}

/** The user's choice together with the browser's permission. */
export function notificationSetting(): NotificationSetting {
  const api = notificationApi();
  if (!api) return 'unsupported';
  const permission = permissionOf(api);
  if (permission === 'denied') return 'blocked';
  if (permission === 'default') return 'ask';
  return stored(SETTING_KEY) === 'off' ? 'off' : 'on';
}

/** The first line of a message for a notification: its text, cut short, or what it carries. */
function preview(message: Message): string {
  const text = message.text.replace(/\s+/g, ' ').trim();
  if (text) return text.length > BODY_LENGTH ? `${text.slice(0, BODY_LENGTH - 1)}…` : text;
  return message.attachments.length > 0 ? t('notifications.sentFile') : '';
}

export class DesktopNotifier {
  readonly #controller: KaiwaChatClient;
  #open: RoomOpener;
  /** Who mentioned me first while permission was still to be asked: the banner's text. */
  prompt: { author: string; room: string } | null = null;
  /** Messages for me that arrived in the room on screen while the tab was hidden (the title counts them). */
  #hiddenArrivals = 0;

  constructor(controller: KaiwaChatClient, open: RoomOpener) {
    this.#controller = controller;
    this.#open = open;
  }

  set opener(open: RoomOpener) {
    this.#open = open;
  }

  start(): () => void {
    const stopMessages = this.#controller.state.onLiveMessage((message, entry) =>
      this.#arrived(message, entry),
    );
    const onVisibility = () => {
      if (document.visibilityState !== 'visible') return;
      knownPermission = undefined;
      if (this.#hiddenArrivals === 0) return;
      this.#hiddenArrivals = 0;
      this.#controller.state.changed();
    };
    const onPermission = () => this.#controller.state.changed();
    permissionListeners.add(onPermission);
    document.addEventListener('visibilitychange', onVisibility);
    // The bell turned on or off, or the banner answered, in another tab of this browser: this one follows.
    const onStorage = (event: StorageEvent) => {
      if (event.key !== SETTING_KEY && event.key !== PROMPT_KEY) return;
      if (stored(PROMPT_KEY) === 'answered') this.prompt = null;
      this.#controller.state.changed();
    };
    addEventListener('storage', onStorage);
    return () => {
      stopMessages();
      permissionListeners.delete(onPermission);
      document.removeEventListener('visibilitychange', onVisibility);
      removeEventListener('storage', onStorage);
    };
  }

  /** The page title with what asks for me in front: `(2) #general · Kaiwa`, or `• …` for anything new. */
  title(base: string): string {
    const counts = attentionCounts(
      [...this.#controller.state.rooms.values()].map((entry) => ({
        kind: entry.room.kind,
        preferences: entry.preferences,
        muted: entry.membership?.muted ?? false,
        unread: entry.unread,
        mentions: entry.mentions,
      })),
    );
    counts.count += this.#hiddenArrivals;
    counts.unread ||= this.#hiddenArrivals > 0;
    return titleWithCounts(base, counts);
  }

  /** Turns notifications on (asking the browser when it has not been asked) or off; returns the new setting. */
  async enable(on: boolean): Promise<NotificationSetting> {
    const api = notificationApi();
    this.prompt = null;
    store(PROMPT_KEY, 'answered');
    store(SETTING_KEY, on ? 'on' : 'off');
    if (on && api && permissionOf(api) === 'default') {
      await api.requestPermission();
      knownPermission = undefined;
    }
    this.#controller.state.changed();
    return notificationSetting();
  }

  dismissPrompt(): void {
    this.prompt = null;
    store(PROMPT_KEY, 'answered');
    this.#controller.state.changed();
  }

  #arrived(message: Message, entry: RoomEntry): void {
    const state = this.#controller.state;
    const me = state.me;
    if (!me) return;
    const context = {
      kind: entry.room.kind,
      preferences: entry.preferences,
      muted: entry.membership?.muted ?? false,
    };
    if (!wantsNotification(message, me.id, context)) return;
    const visible = document.visibilityState === 'visible';
    if (state.viewing === entry.room.id) {
      if (visible) return; // read as it comes
      this.#hiddenArrivals += 1;
    }
    const setting = notificationSetting();
    if (setting === 'ask') {
      if (!this.prompt && stored(PROMPT_KEY) === null && mentionsUser(message, me.id)) {
        const room = `${entry.room.kind === 'channel' ? '#' : ''}${state.roomTitle(entry.room.id)}`;
        this.prompt = { author: state.nameOf(message.authorId), room };
        state.changed();
      }
      return;
    }
    if (setting === 'on') void this.#show(message, entry);
  }

  async #show(message: Message, entry: RoomEntry): Promise<void> {
    const state = this.#controller.state;
    if (!state.users.has(message.authorId)) {
      try {
        state.addUsers([await this.#controller.rest.getUser(message.authorId)]);
      } catch {
        // Shown as "someone".
      }
    }
    const author = state.nameOf(message.authorId);
    const direct = entry.room.kind === 'direct';
    const room = `${entry.room.kind === 'channel' ? '#' : ''}${state.roomTitle(entry.room.id)}`;
    const thread = Boolean(message.threadRootId);
    const title = direct
      ? thread
        ? t('notifications.inThread', { author })
        : author
      : t(thread ? 'notifications.inThreadInRoom' : 'notifications.inRoom', { author, room });
    const icon = document.querySelector<HTMLLinkElement>('link[rel="icon"]')?.href;
    const notification = new Notification(title, {
      body: preview(message),
      tag: message.id,
      ...(icon ? { icon } : {}),
    });
    notification.onclick = () => {
      window.focus();
      this.#open(entry.room.id, message.threadRootId);
      notification.close();
    };
  }
}

const notifiers = new WeakMap<KaiwaChatClient, DesktopNotifier>();

/** The chat's notifier, for the components that show its banner and its bell. */
export function notifierOf(controller: KaiwaChatClient): DesktopNotifier {
  let notifier = notifiers.get(controller);
  if (!notifier) {
    notifier = new DesktopNotifier(controller, () => {});
    notifiers.set(controller, notifier);
  }
  return notifier;
}

/** Starts desktop notifications for the chat; `open` shows a room (or a thread) when one is clicked. */
export function useDesktopNotifications(controller: KaiwaChatClient, open: RoomOpener): DesktopNotifier {
  const notifier = useMemo(() => notifierOf(controller), [controller]);
  const opener = useRef(open);
  opener.current = open;
  useEffect(() => {
    notifier.opener = (roomId, threadId) => opener.current(roomId, threadId);
    return notifier.start();
  }, [notifier]);
  return notifier;
}
