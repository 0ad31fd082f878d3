import {
  KaiwaRestClient,
  type PrefetchedHistory,
  type PrefetchedRooms,
  prefetchHistory,
  prefetchRooms,
} from '@kaiwa/client';
import type { ServerInfo, User } from '@kaiwa/protocol';
import { roomOfPath, showKeptView } from './kept-view';
import { rememberedRoom } from './navigation';
import { offlineReadingFetch } from './offline-reads';

/*
 * The page's REST client, and the requests the app starts with, made while this module is evaluated: main.tsx
 * imports it before anything else, so they are on their way while the rest of the app's code (the markdown
 * parser, the screens) is still being evaluated, not after it and the first render. With a stored session
 * that is the session check, the room list and the newest page of the room the address names (or the one
 * shown last), beside the server's description.
 */

/** What the chat starts with, asked for before it started (for the stored session's user). */
export interface StartingRequests {
  userId: string;
  rooms: PrefetchedRooms;
  /** The newest page of the room the page opens on, where it names one (or one was shown last). */
  history?: PrefetchedHistory | undefined;
}

export const api = new KaiwaRestClient({ fetch: offlineReadingFetch });

function startingRequests(): StartingRequests | undefined {
  const userId = api.session?.user.id;
  if (!userId || api.session?.user.forcePasswordChange) return;
  const roomId = roomOfPath(location.pathname) ?? (location.pathname === '/' ? rememberedRoom(userId) : null);
  // What this browser last showed of the room, on the screen until the app's own rows replace it.
  showKeptView(userId, roomId);
  return {
    userId,
    rooms: prefetchRooms(api),
    history: roomId ? prefetchHistory(api, roomId) : undefined,
  };
}

/** Each taken once, by the first screen that needs it; later ones ask again. */
export const firstRequests: {
  server: Promise<ServerInfo> | undefined;
  me: { userId: string; user: Promise<User> } | undefined;
  chat: StartingRequests | undefined;
} = {
  server: api.publicRequest<ServerInfo>('GET', '/server'),
  me: api.session ? { userId: api.session.user.id, user: api.request<User>('GET', '/auth/me') } : undefined,
  chat: startingRequests(),
};
// Taken (and their failures handled) a moment later, once the app renders.
firstRequests.server?.catch(() => undefined);
firstRequests.me?.user.catch(() => undefined);
