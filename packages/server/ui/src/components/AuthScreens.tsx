import type { KaiwaRestClient, SignOutReason } from '@kaiwa/client';
import type { ServerInfo, Session } from '@kaiwa/protocol';
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
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

const REASONS: Record<SignOutReason, string | null> = {
  'signed-out': null,
  expired: 'Your session ended. Please sign in again.',
  elsewhere: 'You signed out in another tab.',
};

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
      notice={reason ? REASONS[reason] : null}
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
    <AuthCard title="Sign in">
      {notice ? (
        <p class="notice" role="status">
          {notice}
        </p>
      ) : null}
      <form onSubmit={submit} class="stack">
        <Field
          label="Username"
          value={username}
          onValue={setUsername}
          autoComplete="username"
          autoCapitalize="none"
          spellcheck={false}
          required
          autoFocus
        />
        <Field
          label="Password"
          type="password"
          value={password}
          onValue={setPassword}
          autoComplete="current-password"
          required
        />
        <ErrorText error={error} />
        <button type="submit" class="button primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
      {onSignUp ? (
        <p class="auth-switch">
          New here?{' '}
          <button type="button" class="link-button" onClick={onSignUp}>
            Create an account
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
    <AuthCard title="Create an account">
      <form onSubmit={submit} class="stack">
        <Field
          label="Username"
          value={username}
          onValue={setUsername}
          autoComplete="username"
          autoCapitalize="none"
          spellcheck={false}
          hint="Lower-case letters, digits, “_”, “.” or “-”; this is your @name."
          required
          autoFocus
        />
        <Field label="Display name" value={displayName} onValue={setDisplayName} autoComplete="name" />
        <Field
          label="Password"
          type="password"
          value={password}
          onValue={setPassword}
          autoComplete="new-password"
          hint="At least 10 characters."
          minLength={10}
          required
        />
        <ErrorText error={error} />
        <button type="submit" class="button primary" disabled={busy}>
          {busy ? 'Creating…' : 'Create account'}
        </button>
      </form>
      <p class="auth-switch">
        <button type="button" class="link-button" onClick={onBack}>
          Back to sign-in
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
    <AuthCard title="Pick a nickname">
      <p class="muted">This server runs without accounts: choose a name to chat under.</p>
      <form onSubmit={submit} class="stack">
        <Field
          label="Nickname"
          value={nickname}
          onValue={setNickname}
          autoComplete="nickname"
          maxLength={32}
          required
          autoFocus
        />
        <ErrorText error={error} />
        <button type="submit" class="button primary" disabled={busy}>
          {busy ? 'Joining…' : 'Start chatting'}
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
    <AuthCard title="Choose a new password">
      <p class="muted">
        {user ? (
          <>
            Welcome, <strong>{user.displayName}</strong>.{' '}
          </>
        ) : null}
        You signed in with a one-time password; choose your own before you continue.
      </p>
      <form
        class="stack"
        onSubmit={(event) => {
          if (next !== repeat) {
            event.preventDefault();
            setMismatch('The new passwords do not match.');
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
          label="Current password"
          type="password"
          value={current}
          onValue={setCurrent}
          autoComplete="current-password"
          hint="The one-time password you were given."
          required
          autoFocus
        />
        <Field
          label="New password"
          type="password"
          value={next}
          onValue={setNext}
          autoComplete="new-password"
          hint="At least 10 characters, not your username."
          minLength={10}
          required
        />
        <Field
          label="Repeat new password"
          type="password"
          value={repeat}
          onValue={setRepeat}
          autoComplete="new-password"
          required
        />
        <ErrorText error={mismatch ?? error} />
        <button type="submit" class="button primary" disabled={busy}>
          {busy ? 'Saving…' : 'Change password'}
        </button>
      </form>
      <p class="auth-switch">
        <button type="button" class="link-button" onClick={onSignOut}>
          Sign out
        </button>
      </p>
    </AuthCard>
  );
}
