import type { KaiwaRestClient, SignOutReason } from '@kaiwa/client';
import type { ServerInfo, Session } from '@kaiwa/protocol';
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { t, tRich } from '../i18n';
import { describeError, ErrorText, Field } from './common';

function AuthCard({ title, children }: { title: string; children: ComponentChildren }) {
  return (
    <main class="auth-screen">
      <div class="auth-card">
        <p class="brand" aria-hidden="true">
          Kaiwa <span lang="ja">会話</span>
        </p>
        <h1>{title}</h1>
        {children}
      </div>
    </main>
  );
}

function reasonText(reason: SignOutReason): string | null {
  if (reason === 'expired') return t('auth.reasonExpired');
  if (reason === 'elsewhere') return t('auth.reasonElsewhere');
  return null;
}

/** Sign-in with a password, or with a nickname when the server runs without accounts. */
export function SignIn({
  api,
  server,
  reason,
}: {
  api: KaiwaRestClient;
  server: ServerInfo;
  reason: SignOutReason | undefined;
}) {
  const [mode, setMode] = useState<'signin' | 'signup'>('signin');
  if (!server.accountsEnabled) return <NicknameSignIn api={api} />;
  if (mode === 'signup') return <SignUp api={api} onBack={() => setMode('signin')} />;
  return (
    <PasswordSignIn
      api={api}
      notice={reason ? reasonText(reason) : null}
      onSignUp={server.signupEnabled ? () => setMode('signup') : undefined}
    />
  );
}

function useSubmit(action: () => Promise<void>) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const submit = async (event: Event) => {
    event.preventDefault();
    if (busy) return;
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (caught) {
      setError(describeError(caught));
      setBusy(false);
    }
  };
  return { busy, error, submit };
}

function PasswordSignIn({
  api,
  notice,
  onSignUp,
}: {
  api: KaiwaRestClient;
  notice: string | null;
  onSignUp: (() => void) | undefined;
}) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const { busy, error, submit } = useSubmit(async () => {
    const session = await api.publicRequest<Session>('POST', '/auth/login', {
      username: username.trim().toLowerCase(),
      password,
    });
    api.setSession(session);
  });
  return (
    <AuthCard title={t('auth.signIn')}>
      {notice ? (
        <p class="notice" role="status">
          {notice}
        </p>
      ) : null}
      <form onSubmit={submit} class="stack">
        <Field
          label={t('auth.username')}
          value={username}
          onValue={setUsername}
          autoComplete="username"
          autoCapitalize="none"
          spellcheck={false}
          required
          autoFocus
        />
        <Field
          label={t('auth.password')}
          type="password"
          value={password}
          onValue={setPassword}
          autoComplete="current-password"
          required
        />
        <ErrorText error={error} />
        <button type="submit" class="button primary" disabled={busy}>
          {busy ? t('auth.signingIn') : t('auth.signIn')}
        </button>
      </form>
      {onSignUp ? (
        <p class="auth-switch">
          {t('auth.newHere')}{' '}
          <button type="button" class="link-button" onClick={onSignUp}>
            {t('auth.createAccount')}
          </button>
        </p>
      ) : null}
    </AuthCard>
  );
}

function SignUp({ api, onBack }: { api: KaiwaRestClient; onBack: () => void }) {
  const [username, setUsername] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [password, setPassword] = useState('');
  const { busy, error, submit } = useSubmit(async () => {
    const session = await api.publicRequest<Session>('POST', '/auth/signup', {
      username: username.trim().toLowerCase(),
      password,
      ...(displayName.trim() ? { displayName: displayName.trim() } : {}),
    });
    api.setSession(session);
  });
  return (
    <AuthCard title={t('auth.createAccount')}>
      <form onSubmit={submit} class="stack">
        <Field
          label={t('auth.username')}
          value={username}
          onValue={setUsername}
          autoComplete="username"
          autoCapitalize="none"
          spellcheck={false}
          hint={t('auth.usernameHint')}
          required
          autoFocus
        />
        <Field
          label={t('auth.displayName')}
          value={displayName}
          onValue={setDisplayName}
          autoComplete="name"
        />
        <Field
          label={t('auth.password')}
          type="password"
          value={password}
          onValue={setPassword}
          autoComplete="new-password"
          hint={t('auth.passwordHint')}
          minLength={10}
          required
        />
        <ErrorText error={error} />
        <button type="submit" class="button primary" disabled={busy}>
          {busy ? t('auth.creating') : t('auth.createAccountButton')}
        </button>
      </form>
      <p class="auth-switch">
        <button type="button" class="link-button" onClick={onBack}>
          {t('auth.backToSignIn')}
        </button>
      </p>
    </AuthCard>
  );
}

function NicknameSignIn({ api }: { api: KaiwaRestClient }) {
  const [nickname, setNickname] = useState('');
  const { busy, error, submit } = useSubmit(async () => {
    const session = await api.publicRequest<Session>('POST', '/auth/anonymous', {
      nickname: nickname.trim(),
    });
    api.setSession(session);
  });
  return (
    <AuthCard title={t('auth.pickNickname')}>
      <p class="muted">{t('auth.noAccounts')}</p>
      <form onSubmit={submit} class="stack">
        <Field
          label={t('auth.nickname')}
          value={nickname}
          onValue={setNickname}
          autoComplete="nickname"
          maxLength={32}
          required
          autoFocus
        />
        <ErrorText error={error} />
        <button type="submit" class="button primary" disabled={busy}>
          {busy ? t('auth.joining') : t('auth.startChatting')}
        </button>
      </form>
    </AuthCard>
  );
}

/** The forced password change of a first sign-in (or a reset), before anything else. */
export function ChangePassword({ api, onSignOut }: { api: KaiwaRestClient; onSignOut: () => void }) {
  const user = api.user;
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [repeat, setRepeat] = useState('');
  const [mismatch, setMismatch] = useState<string | null>(null);
  const { busy, error, submit } = useSubmit(async () => {
    const session = await api.request<Session>('POST', '/auth/change-password', {
      currentPassword: current,
      newPassword: next,
    });
    api.setSession(session);
  });
  return (
    <AuthCard title={t('auth.chooseNewPassword')}>
      <p class="muted">
        {user ? <>{tRich('auth.welcome', { name: <strong>{user.displayName}</strong> })} </> : null}
        {t('auth.oneTimePassword')}
      </p>
      <form
        class="stack"
        onSubmit={(event) => {
          if (next !== repeat) {
            event.preventDefault();
            setMismatch(t('auth.passwordsDiffer'));
            return;
          }
          setMismatch(null);
          void submit(event);
        }}
      >
        {/* Lets password managers tie the new password to the account. */}
        <input
          type="text"
          class="visually-hidden"
          autoComplete="username"
          value={user?.username ?? ''}
          readOnly
          tabIndex={-1}
          aria-hidden="true"
        />
        <Field
          label={t('auth.currentPassword')}
          type="password"
          value={current}
          onValue={setCurrent}
          autoComplete="current-password"
          hint={t('auth.currentPasswordHint')}
          required
          autoFocus
        />
        <Field
          label={t('auth.newPassword')}
          type="password"
          value={next}
          onValue={setNext}
          autoComplete="new-password"
          hint={t('auth.newPasswordHint')}
          minLength={10}
          required
        />
        <Field
          label={t('auth.repeatPassword')}
          type="password"
          value={repeat}
          onValue={setRepeat}
          autoComplete="new-password"
          required
        />
        <ErrorText error={mismatch ?? error} />
        <button type="submit" class="button primary" disabled={busy}>
          {busy ? t('common.saving') : t('auth.changePassword')}
        </button>
      </form>
      <p class="auth-switch">
        <button type="button" class="link-button" onClick={onSignOut}>
          {t('auth.signOut')}
        </button>
      </p>
    </AuthCard>
  );
}
