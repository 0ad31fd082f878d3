import {
  KaiwaApiError,
  KaiwaRestClient,
  type PrefetchedHistory,
  prefetchHistory,
  type SignOutReason,
} from '@kaiwa/client';
import type { ServerInfo, Session, User } from '@kaiwa/protocol';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { t, useLanguage } from '../i18n';
import { rememberedRoom } from '../navigation';
import { forgetOfflineData } from '../register-service-worker';
import { ChangePassword, SignIn } from './AuthScreens';
import { ChatApp } from './ChatApp';
import { describeError } from './common';

/** Signed out, forced to change the password, or chatting. */
export function App() {
  // Everything below reads the language through `t`: a switch re-renders the whole app.
  useLanguage();
  const api = useMemo(() => new KaiwaRestClient(), []);
  const [server, setServer] = useState<ServerInfo | null>(null);
  const [serverError, setServerError] = useState<string | null>(null);
  const [session, setSession] = useState<Session | null>(api.session);
  const [reason, setReason] = useState<SignOutReason | undefined>(undefined);
  const [checkedUser, setCheckedUser] = useState<string | null>(null);
  // With a stored session, the room the address names (or the one shown last) has its newest page asked for
  // now, beside the session check, not three round trips later once the chat has loaded the rooms.
  const prefetched = useMemo(() => startingRoomHistory(api), [api]);

  useEffect(
    () =>
      api.onSession((next, why) => {
        setSession(next);
        if (!next) {
          forgetOfflineData();
          setReason(why);
          setCheckedUser(null);
        }
      }),
    [api],
  );

  const loadServer = () => {
    setServerError(null);
    api.publicRequest<ServerInfo>('GET', '/server').then(setServer, (error: unknown) => {
      setServerError(describeError(error));
    });
  };
  useEffect(loadServer, [api]);

  // A stored session is checked once: the account may be gone or need a new password by now.
  const userId = session?.user.id ?? null;
  useEffect(() => {
    if (!userId || checkedUser === userId) return;
    api.request<User>('GET', '/auth/me').then(
      (user) => {
        api.setSessionUser(user);
        setCheckedUser(user.id);
      },
      (error: unknown) => {
        if (error instanceof KaiwaApiError && error.status === 401) api.setSession(null, 'expired');
        // Offline: go on with what is stored; the chat retries on its own.
        else setCheckedUser(userId);
      },
    );
  }, [api, userId, checkedUser]);

  if (!server) {
    return (
      <main class="auth-screen">
        <div class="auth-card" aria-busy={!serverError}>
          <p class="brand">
            Kaiwa <span lang="ja">会話</span>
          </p>
          {serverError ? (
            <>
              <p role="alert">{t('app.unreachable', { error: serverError })}</p>
              <button type="button" class="button primary" onClick={loadServer}>
                {t('common.tryAgain')}
              </button>
            </>
          ) : (
            <p role="status">{t('common.connecting')}</p>
          )}
        </div>
      </main>
    );
  }
  if (!session) return <SignIn api={api} server={server} reason={reason} />;
  if (session.user.forcePasswordChange) {
    return (
      <ChangePassword
        api={api}
        onSignOut={() => {
          const refreshToken = api.session?.refreshToken;
          api.setSession(null, 'signed-out');
          if (refreshToken) void api.publicRequest('POST', '/auth/logout', { refreshToken }).catch(() => {});
        }}
      />
    );
  }
  if (checkedUser !== session.user.id) {
    return (
      <main class="auth-screen">
        <p role="status">{t('common.loading')}</p>
      </main>
    );
  }
  return (
    <ChatApp
      key={session.user.id}
      api={api}
      server={server}
      prefetchedHistory={prefetched?.userId === session.user.id ? prefetched.history : undefined}
    />
  );
}

/** The newest page of the room the page opens on, asked for at once when a session is stored. */
function startingRoomHistory(api: KaiwaRestClient): { userId: string; history: PrefetchedHistory } | null {
  const userId = api.session?.user.id;
  if (!userId || api.session?.user.forcePasswordChange) return null;
  const roomId =
    /^\/rooms\/([0-9A-Za-z]+)\/?$/.exec(location.pathname)?.[1] ??
    (location.pathname === '/' ? rememberedRoom(userId) : null);
  return roomId ? { userId, history: prefetchHistory(api, roomId) } : null;
}
