import { KaiwaApiError, type SignOutReason } from '@kaiwa/client';
import type { ServerInfo, Session, User } from '@kaiwa/protocol';
import { useEffect, useState } from 'preact/hooks';
import { api, firstRequests } from '../first-requests';
import { t, useLanguage } from '../i18n';
import { forgetOfflineData } from '../offline-reads';
import { ChangePassword, SignIn } from './AuthScreens';
import { ChatApp } from './ChatApp';
import { describeError } from './common';

/** Signed out, forced to change the password, or chatting. */
export function App() {
  // Everything below reads the language through `t`: a switch re-renders the whole app.
  useLanguage();
  const [server, setServer] = useState<ServerInfo | null>(null);
  const [serverError, setServerError] = useState<string | null>(null);
  const [session, setSession] = useState<Session | null>(api.session);
  const [reason, setReason] = useState<SignOutReason | undefined>(undefined);
  const [checkedUser, setCheckedUser] = useState<string | null>(null);
  // With a stored session, the room list and the newest page of the room the address names (or the one
  // shown last) were asked for with the session check as the page started (first-requests.ts), not two and
  // three round trips later.
  const [prefetched] = useState(() => {
    const chat = firstRequests.chat;
    firstRequests.chat = undefined;
    return chat;
  });

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
    [],
  );

  const loadServer = (request = api.publicRequest<ServerInfo>('GET', '/server')) => {
    setServerError(null);
    request.then(setServer, (error: unknown) => {
      setServerError(describeError(error));
    });
  };
  useEffect(() => {
    const asked = firstRequests.server;
    firstRequests.server = undefined;
    loadServer(asked);
  }, []);

  // A stored session is checked once: the account may be gone or need a new password by now.
  const userId = session?.user.id ?? null;
  useEffect(() => {
    if (!userId || checkedUser === userId) return;
    const early = firstRequests.me;
    firstRequests.me = undefined;
    const asked = early?.userId === userId ? early.user : api.request<User>('GET', '/auth/me');
    asked.then(
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
  }, [userId, checkedUser]);

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
              <button type="button" class="button primary" onClick={() => loadServer()}>
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
      prefetched={prefetched?.userId === session.user.id ? prefetched : undefined}
    />
  );
}
