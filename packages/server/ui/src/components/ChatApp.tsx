import { type ConnectionStatus, KaiwaChatClient, type KaiwaRestClient, type RoomEntry } from '@kaiwa/client';
import type { ServerInfo, User } from '@kaiwa/protocol';
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useMemo, useState } from 'preact/hooks';
import type { StartingRequests } from '../first-requests';
import { ControllerContext, useChatVersion, useMediaQuery } from '../hooks';
import { t } from '../i18n';
import { rememberedRoom } from '../navigation';
import { useDesktopNotifications } from '../notifications';
import { clearDrafts } from './Composer';
import { Avatar, PresenceDot } from './common';
import { Icon } from './icons';
import { lazyComponent } from './lazy';
import { NavigationLayer } from './Navigation';
import { NotificationPrompt, NotificationToggle } from './NotificationPrompt';
import { FavouriteButton, mentionLabel, RoomBadges } from './RoomListExtras';
import { RoomView } from './RoomView';
import { SearchButton } from './SearchButton';
import { ThreadPanel } from './ThreadPanel';

/*
 * Screens and dialogs a visit to a room does not need: fetched the first time they are opened, so the script
 * a room waits for is smaller (build.mjs splits them into chunks of their own).
 */
const ProjectsView = lazyComponent(() => import('./rare-screens').then((module) => module.ProjectsView));
const RoomDetailsPanel = lazyComponent(() =>
  import('./rare-screens').then((module) => module.RoomDetailsPanel),
);
const PluginsDialog = lazyComponent(() => import('./rare-screens').then((module) => module.PluginsDialog));
const WorkflowsDialog = lazyComponent(() =>
  import('./rare-screens').then((module) => module.WorkflowsDialog),
);
const ProfileDialog = lazyComponent(() => import('./rare-screens').then((module) => module.ProfileDialog));
const GroupMessageDialog = lazyComponent(() =>
  import('./rare-screens').then((module) => module.GroupMessageDialog),
);
const CreateRoomDialog = lazyComponent(() =>
  import('./rare-screens').then((module) => module.CreateRoomDialog),
);
const BrowseChannelsDialog = lazyComponent(() =>
  import('./rare-screens').then((module) => module.BrowseChannelsDialog),
);
const DirectMessageDialog = lazyComponent(() =>
  import('./rare-screens').then((module) => module.DirectMessageDialog),
);
const PeopleDialog = lazyComponent(() => import('./rare-screens').then((module) => module.PeopleDialog));

interface Route {
  roomId: string | null;
  threadId: string | null;
  /** The projects screen: null for the list, a project's id for its board; absent elsewhere. */
  projectId?: string | null;
}

function parseRoute(): Route {
  const projects = /^\/projects(?:\/([0-9A-Za-z]+))?\/?$/.exec(location.pathname);
  if (projects) return { roomId: null, threadId: null, projectId: projects[1] ?? null };
  const match = /^\/rooms\/([0-9A-Za-z]+)\/?$/.exec(location.pathname);
  const thread = new URLSearchParams(location.search).get('thread');
  return {
    roomId: match?.[1] ?? null,
    threadId: match && thread && /^[0-9A-Za-z]+$/.test(thread) ? thread : null,
  };
}

function routePath(route: Route): string {
  if (route.projectId !== undefined) return route.projectId ? `/projects/${route.projectId}` : '/projects';
  if (!route.roomId) return '/';
  return `/rooms/${route.roomId}${route.threadId ? `?thread=${route.threadId}` : ''}`;
}

type DialogName = 'create' | 'browse' | 'direct' | 'group' | 'people' | 'plugins' | 'profile' | 'workflows';

function ConnectionBadge({ status, onRetry }: { status: ConnectionStatus; onRetry: () => void }) {
  const offline = typeof navigator !== 'undefined' && navigator.onLine === false;
  const label =
    status.state === 'online'
      ? t('chat.connected')
      : status.state === 'connecting'
        ? status.sessions > 0
          ? t('chat.reconnecting')
          : t('common.connecting')
        : status.state === 'waiting'
          ? offline
            ? t('chat.offlineWaiting')
            : t('chat.connectionLost')
          : t('chat.disconnected');
  return (
    <div class={`connection connection-${status.state}`} data-sessions={status.sessions}>
      <span class="connection-dot" aria-hidden="true" />
      <span role="status" class="connection-label">
        {label}
      </span>
      {status.state === 'waiting' && !offline ? (
        <button type="button" class="link-button" onClick={onRetry}>
          {t('chat.retryNow')}
        </button>
      ) : null}
    </div>
  );
}

function RoomLink({
  entry,
  title,
  current,
  presence,
  onSelect,
}: {
  entry: RoomEntry;
  title: string;
  current: boolean;
  presence?: 'online' | 'away' | 'offline' | undefined;
  onSelect: (roomId: string) => void;
}) {
  const muted = entry.membership?.muted ?? false;
  const unread = muted ? 0 : entry.unread;
  return (
    <li class="room-item">
      <a
        href={routePath({ roomId: entry.room.id, threadId: null })}
        class={`room-link${current ? ' current' : ''}${unread > 0 ? ' unread' : ''}${muted ? ' muted-room' : ''}${entry.mentions > 0 ? ' mentioned' : ''}`}
        aria-current={current ? 'page' : undefined}
        aria-label={[
          presence
            ? t('chat.roomLinkPresence', { title, presence: t(`common.presence.${presence}`) })
            : title,
          unread > 0 ? t('common.unread', { count: unread }) : '',
          mentionLabel(entry),
          muted ? t('chat.muted') : '',
        ]
          .filter(Boolean)
          .join(t('common.separator'))}
        onClick={(event) => {
          if (event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
          event.preventDefault();
          onSelect(entry.room.id);
        }}
      >
        {entry.room.kind === 'direct' ? (
          <PresenceDot status={presence} />
        ) : (
          <Icon name={entry.room.kind === 'group' ? 'lock' : 'hash'} />
        )}
        <span class="room-name">{title}</span>
        <RoomBadges entry={entry} />
      </a>
      <FavouriteButton entry={entry} title={title} />
    </li>
  );
}

function Sidebar({
  controller,
  me,
  currentRoomId,
  onSelect,
  onDialog,
  header,
  projectsOpen,
  onProjects,
}: {
  controller: KaiwaChatClient;
  header: ComponentChildren;
  me: User;
  currentRoomId: string | null;
  onSelect: (roomId: string) => void;
  onDialog: (name: DialogName) => void;
  projectsOpen: boolean;
  onProjects: () => void;
}) {
  const state = controller.state;
  const entries = [...state.rooms.values()];
  const byTitle = (a: RoomEntry, b: RoomEntry) =>
    state.roomTitle(a.room.id).localeCompare(state.roomTitle(b.room.id));
  const favourites = entries.filter((entry) => entry.preferences.favourite).sort(byTitle);
  const channels = entries
    .filter((entry) => entry.room.kind !== 'direct' && !entry.preferences.favourite)
    .sort(byTitle);
  const directs = entries
    .filter((entry) => entry.room.kind === 'direct' && !entry.preferences.favourite)
    .sort(byTitle);
  return (
    <nav id="sidebar" class="sidebar" aria-label={t('chat.rooms')}>
      {header ? (
        <div class="sidebar-header">
          <span class="brand">
            Kaiwa <span lang="ja">会話</span>
          </span>
          {header}
        </div>
      ) : null}
      <div class="sidebar-scroll">
        {state.capabilities.useProjects || state.capabilities.managePlugins ? (
          <ul class="room-list sidebar-projects">
            {state.capabilities.useProjects ? (
              <li class="room-item">
                <a
                  href="/projects"
                  class={`room-link${projectsOpen ? ' current' : ''}`}
                  aria-current={projectsOpen ? 'page' : undefined}
                  onClick={(event) => {
                    if (event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
                    event.preventDefault();
                    onProjects();
                  }}
                >
                  <Icon name="board" />
                  <span class="room-name">{t('chat.projects')}</span>
                </a>
              </li>
            ) : null}
            {state.capabilities.managePlugins ? (
              <li class="room-item">
                <button type="button" class="sidebar-action" onClick={() => onDialog('plugins')}>
                  <Icon name="plug" /> {t('chat.plugins')}
                </button>
              </li>
            ) : null}
          </ul>
        ) : null}
        {favourites.length > 0 ? (
          <section class="sidebar-section" aria-labelledby="favourites-heading">
            <div class="section-header">
              <h2 id="favourites-heading">{t('chat.favourites')}</h2>
            </div>
            <ul class="room-list">
              {favourites.map((entry) => {
                const peer = state.directPeer(entry.room.id);
                return (
                  <RoomLink
                    key={entry.room.id}
                    entry={entry}
                    title={state.roomTitle(entry.room.id)}
                    current={entry.room.id === currentRoomId}
                    presence={peer ? state.presence.get(peer) : undefined}
                    onSelect={onSelect}
                  />
                );
              })}
            </ul>
          </section>
        ) : null}
        <section class="sidebar-section" aria-labelledby="channels-heading">
          <div class="section-header">
            <h2 id="channels-heading">{t('chat.channels')}</h2>
            {state.capabilities.createRooms ? (
              <button
                type="button"
                class="icon-button small"
                aria-label={t('chat.newRoom')}
                title={t('chat.newRoom')}
                onClick={() => onDialog('create')}
              >
                <Icon name="plus" />
              </button>
            ) : null}
          </div>
          <ul class="room-list">
            {channels.map((entry) => (
              <RoomLink
                key={entry.room.id}
                entry={entry}
                title={state.roomTitle(entry.room.id)}
                current={entry.room.id === currentRoomId}
                onSelect={onSelect}
              />
            ))}
          </ul>
          {state.capabilities.joinChannels ? (
            <button type="button" class="sidebar-action" onClick={() => onDialog('browse')}>
              <Icon name="search" /> {t('chat.browseChannels')}
            </button>
          ) : null}
        </section>
        <section class="sidebar-section" aria-labelledby="direct-heading">
          <div class="section-header">
            <h2 id="direct-heading">{t('chat.directMessages')}</h2>
            {state.capabilities.createRooms ? (
              <button
                type="button"
                class="icon-button small"
                aria-label={t('chat.newDirectMessage')}
                title={t('chat.newDirectMessage')}
                onClick={() => onDialog('direct')}
              >
                <Icon name="plus" />
              </button>
            ) : null}
          </div>
          <ul class="room-list">
            {directs.map((entry) => {
              const peer = state.directPeer(entry.room.id);
              return (
                <RoomLink
                  key={entry.room.id}
                  entry={entry}
                  title={state.roomTitle(entry.room.id)}
                  current={entry.room.id === currentRoomId}
                  presence={peer ? state.presence.get(peer) : undefined}
                  onSelect={onSelect}
                />
              );
            })}
          </ul>
          {directs.length === 0 ? <p class="sidebar-empty">{t('chat.noConversations')}</p> : null}
        </section>
      </div>
      <div class="sidebar-footer">
        <button
          type="button"
          class="me-button"
          title={t('chat.yourProfile')}
          onClick={() => onDialog('profile')}
        >
          <span class="visually-hidden">{t('chat.yourProfilePrefix')}</span>
          <Avatar user={me} />
          <span class="me">
            <span class="me-name">{me.displayName}</span>
            <span class="muted">@{me.username}</span>
          </span>
        </button>
        {state.capabilities.startWorkflows ? (
          <button
            type="button"
            class="icon-button"
            aria-label={t('chat.workflows')}
            title={t('chat.workflows')}
            onClick={() => onDialog('workflows')}
          >
            <Icon name="workflow" />
          </button>
        ) : null}
        {state.capabilities.manageUsers ? (
          <button
            type="button"
            class="icon-button"
            aria-label={t('chat.people')}
            title={t('chat.people')}
            onClick={() => onDialog('people')}
          >
            <Icon name="users" />
          </button>
        ) : null}
        <NotificationToggle />
        <button
          type="button"
          class="icon-button"
          aria-label={t('chat.signOut')}
          title={t('chat.signOut')}
          onClick={() => void controller.signOut()}
        >
          <Icon name="logout" />
        </button>
      </div>
    </nav>
  );
}

export function ChatApp({
  api,
  server,
  prefetched,
}: {
  api: KaiwaRestClient;
  server: ServerInfo;
  /** The room list and the newest page of the room the page opened on, already asked for (App). */
  prefetched?: StartingRequests | undefined;
}) {
  const controller = useMemo(
    () =>
      new KaiwaChatClient({
        rest: api,
        ...(prefetched ? { prefetchedRooms: prefetched.rooms } : {}),
        ...(prefetched?.history ? { prefetchedHistory: prefetched.history } : {}),
      }),
    // The prefetched answers count for the first chat of this REST client only.
    [api],
  );
  const [startError, setStartError] = useState<string | null>(null);
  useEffect(() => {
    controller.start().catch((error: unknown) => {
      setStartError(error instanceof Error ? error.message : String(error));
    });
    return () => {
      controller.stop();
      clearDrafts();
    };
  }, [controller]);
  useChatVersion(controller);

  const [route, setRoute] = useState<Route>(parseRoute);
  const [dialog, setDialog] = useState<DialogName | null>(null);
  const [drawerOpen, setDrawerOpen] = useState(false);
  const [detailsFor, setDetailsFor] = useState<string | null>(null);
  const narrow = useMediaQuery('(max-width: 760px)');
  // The drawer of a narrow window takes the focus when it opens, and gives it up on Escape.
  useEffect(() => {
    if (!narrow || !drawerOpen) return;
    const sidebar = document.getElementById('sidebar');
    (
      sidebar?.querySelector<HTMLElement>('[aria-current="page"]') ??
      sidebar?.querySelector<HTMLElement>('a, button')
    )?.focus();
    const onKey = (event: KeyboardEvent) => {
      if (event.key !== 'Escape') return;
      setDrawerOpen(false);
      document.querySelector<HTMLElement>('.menu-button')?.focus();
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [narrow, drawerOpen]);
  useEffect(() => {
    const onPop = () => setRoute(parseRoute());
    addEventListener('popstate', onPop);
    return () => removeEventListener('popstate', onPop);
  }, []);
  const navigate = useCallback((next: Route, replace = false) => {
    if (routePath(next) !== `${location.pathname}${location.search}`) {
      if (replace) history.replaceState(null, '', routePath(next));
      else history.pushState(null, '', routePath(next));
    }
    setRoute(next);
    setDrawerOpen(false);
  }, []);
  const notifier = useDesktopNotifications(controller, (roomId, threadId) => navigate({ roomId, threadId }));

  const state = controller.state;
  const me = state.me;
  const entry = route.roomId ? state.rooms.get(route.roomId) : undefined;
  const roomId = entry?.room.id ?? null;

  // Without a room in the address (or one no longer mine), the first room is shown.
  useEffect(() => {
    // Read now, not from the render: the rooms may have loaded since.
    if (route.projectId !== undefined) return;
    if (!state.roomsLoaded || (route.roomId && state.rooms.has(route.roomId))) return;
    // The first room of the list: channels before direct messages, each by name.
    const first = [...state.rooms.values()].sort(
      (a, b) =>
        Number(a.room.kind === 'direct') - Number(b.room.kind === 'direct') ||
        state.roomTitle(a.room.id).localeCompare(state.roomTitle(b.room.id)),
    )[0];
    // The room shown last (remembered in this browser) comes before the first one.
    const last = state.me ? state.rooms.get(rememberedRoom(state.me.id) ?? '') : undefined;
    if (last) navigate({ roomId: last.room.id, threadId: null }, true);
    else if (first) navigate({ roomId: first.room.id, threadId: null }, true);
    else if (route.roomId) navigate({ roomId: null, threadId: null }, true);
  });

  useEffect(() => {
    if (roomId) void controller.openRoom(roomId);
    else controller.closeRoom();
  }, [controller, roomId]);

  useEffect(() => {
    const title = route.projectId !== undefined ? `${t('chat.projects')} · Kaiwa` : null;
    document.title = notifier.title(title ?? (roomId ? `${state.roomTitle(roomId)} · Kaiwa` : 'Kaiwa'));
  });

  const openThread = useCallback(
    (rootId: string) => navigate({ roomId: route.roomId, threadId: rootId }),
    [navigate, route.roomId],
  );
  const selectRoom = useCallback((id: string) => navigate({ roomId: id, threadId: null }), [navigate]);

  if (!me) return null;
  const connectionBadge = (
    <ConnectionBadge status={controller.connection} onRetry={() => controller.realtime.reconnectNow()} />
  );
  const detailsOpen = Boolean(entry && detailsFor === roomId);
  const threadOpen = Boolean(entry && route.threadId) && !detailsOpen;
  const unreadElsewhere = [...state.rooms.values()].reduce(
    (sum, each) => sum + (each.room.id === roomId ? 0 : each.unread),
    0,
  );

  return (
    <ControllerContext.Provider value={controller}>
      <div
        class={`chat${narrow ? ' narrow' : ''}${drawerOpen ? ' drawer-open' : ''}${threadOpen ? ' thread-open' : ''}${detailsOpen ? ' details-open' : ''}`}
      >
        <a class="skip-link" href="#composer">
          {t('chat.skipToComposer')}
        </a>
        {narrow ? (
          <header class="topbar">
            <button
              type="button"
              class="icon-button menu-button"
              aria-label={
                unreadElsewhere > 0 ? t('chat.roomsUnread', { count: unreadElsewhere }) : t('chat.rooms')
              }
              aria-expanded={drawerOpen}
              aria-controls="sidebar"
              onClick={() => setDrawerOpen(!drawerOpen)}
            >
              <Icon name="menu" />
              {unreadElsewhere > 0 ? <span class="menu-dot" aria-hidden="true" /> : null}
            </button>
            <span class="brand">
              Kaiwa <span lang="ja">会話</span>
            </span>
            {connectionBadge}
            {entry ? <SearchButton /> : null}
          </header>
        ) : null}
        <div class="notices">
          <NotificationPrompt />
          {controller.connection.state !== 'online' &&
          (controller.connection.sessions > 0 || navigator.onLine === false) ? (
            <div class="offline-bar" aria-hidden="true">
              {t('chat.offlineBar')}
            </div>
          ) : null}
          {controller.notice || startError ? (
            <div class="notice-bar" role="alert">
              <span>{startError ? t('chat.couldNotLoad', { error: startError }) : controller.notice}</span>
              <button
                type="button"
                class="icon-button small"
                aria-label={t('common.dismiss')}
                onClick={() => {
                  setStartError(null);
                  controller.say(null);
                }}
              >
                <Icon name="close" />
              </button>
            </div>
          ) : null}
        </div>
        {narrow && drawerOpen ? (
          <button
            type="button"
            class="scrim"
            aria-label={t('chat.closeRoomList')}
            onClick={() => setDrawerOpen(false)}
          />
        ) : null}
        <Sidebar
          controller={controller}
          header={narrow ? null : connectionBadge}
          me={me}
          currentRoomId={roomId}
          onSelect={selectRoom}
          projectsOpen={route.projectId !== undefined}
          onProjects={() => navigate({ roomId: null, threadId: null, projectId: null })}
          onDialog={(name) => {
            setDrawerOpen(false);
            setDialog(name);
          }}
        />
        <main class="main">
          {route.projectId !== undefined ? (
            <ProjectsView projectId={route.projectId} me={me} />
          ) : entry ? (
            <RoomView
              entry={entry}
              me={me}
              server={server}
              onOpenThread={(rootId) => {
                setDetailsFor(null);
                openThread(rootId);
              }}
              detailsOpen={detailsOpen}
              onToggleDetails={() => setDetailsFor(detailsOpen ? null : roomId)}
            />
          ) : (
            <div class="empty-state">
              {state.roomsLoaded ? (
                <>
                  <h1>{t('chat.welcome', { name: me.displayName })}</h1>
                  <p>{t('chat.notInAnyRoom')}</p>
                  <div class="dialog-actions">
                    {state.capabilities.createRooms ? (
                      <button type="button" class="button primary" onClick={() => setDialog('create')}>
                        {t('chat.createRoom')}
                      </button>
                    ) : (
                      <p class="muted">{t('chat.waitForInvite')}</p>
                    )}
                    {state.capabilities.joinChannels ? (
                      <button type="button" class="button" onClick={() => setDialog('browse')}>
                        {t('chat.browseChannels')}
                      </button>
                    ) : null}
                  </div>
                </>
              ) : (
                <p role="status">{t('chat.loadingRooms')}</p>
              )}
            </div>
          )}
        </main>
        {entry && detailsOpen ? (
          <RoomDetailsPanel
            key={entry.room.id}
            entry={entry}
            onClose={() => {
              setDetailsFor(null);
              document.querySelector<HTMLElement>('.room-details-button')?.focus();
            }}
          />
        ) : null}
        {entry && route.threadId && !detailsOpen ? (
          <ThreadPanel
            key={route.threadId}
            entry={entry}
            rootId={route.threadId}
            me={me}
            server={server}
            onClose={() => navigate({ roomId: route.roomId, threadId: null })}
          />
        ) : null}
        {dialog === 'create' ? (
          <CreateRoomDialog
            onClose={() => setDialog(null)}
            onCreated={(room) => {
              setDialog(null);
              selectRoom(room.id);
            }}
          />
        ) : null}
        {dialog === 'browse' ? (
          <BrowseChannelsDialog
            onClose={() => setDialog(null)}
            onOpen={(id) => {
              setDialog(null);
              selectRoom(id);
            }}
          />
        ) : null}
        {dialog === 'direct' ? (
          <DirectMessageDialog
            onClose={() => setDialog(null)}
            onGroup={() => setDialog('group')}
            onOpen={(id) => {
              setDialog(null);
              selectRoom(id);
            }}
          />
        ) : null}
        {dialog === 'people' ? <PeopleDialog onClose={() => setDialog(null)} /> : null}
        {dialog === 'plugins' ? <PluginsDialog onClose={() => setDialog(null)} /> : null}
        {dialog === 'profile' ? (
          <ProfileDialog passwords={server.accountsEnabled} onClose={() => setDialog(null)} />
        ) : null}
        {dialog === 'group' ? (
          <GroupMessageDialog
            onClose={() => setDialog(null)}
            onOpen={(room) => {
              setDialog(null);
              selectRoom(room.id);
            }}
          />
        ) : null}
        {dialog === 'workflows' ? (
          <WorkflowsDialog api={api} me={me} onClose={() => setDialog(null)} />
        ) : null}
        <NavigationLayer
          me={me}
          roomId={roomId}
          onNavigate={(id, threadId, replace) => navigate({ roomId: id, threadId }, replace)}
        />
      </div>
    </ControllerContext.Provider>
  );
}
