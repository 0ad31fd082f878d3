import { useState } from 'preact/hooks';
import { useController } from '../hooks';
import { ErrorText, Modal } from './common';
import { ConfirmButton, FormField, formErrors, NO_ERRORS } from './FormField';

/*
 * Everyone's own profile: the display name, a new password (the current one first; the server's password
 * policy answers by field), and signing out of every session. The server keeps no avatars: people are shown
 * with their initials.
 */

function DisplayNameForm() {
  const controller = useController();
  const me = controller.me;
  const [name, setName] = useState(me.displayName);
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState(NO_ERRORS);
  const [saved, setSaved] = useState(false);
  return (
    <form
      class="stack"
      aria-labelledby="profile-name-heading"
      onSubmit={async (event) => {
        event.preventDefault();
        setBusy(true);
        setErrors(NO_ERRORS);
        setSaved(false);
        try {
          const user = await controller.rest.updateUser(me.id, { displayName: name.trim() });
          controller.state.me = user;
          controller.state.addUsers([user]);
          setSaved(true);
        } catch (caught) {
          setErrors(formErrors(caught, ['displayName']));
        } finally {
          setBusy(false);
        }
      }}
    >
      <h3 id="profile-name-heading">Your name</h3>
      <FormField
        label="Display name"
        value={name}
        onValue={(value) => {
          setName(value);
          setSaved(false);
        }}
        hint={`Shown with your messages; people mention you as @${me.username}.`}
        error={errors.fields.displayName}
        maxLength={64}
        autoComplete="name"
        required
      />
      <ErrorText error={errors.general} />
      <div class="dialog-actions">
        {saved ? (
          <span class="saved" role="status">
            Saved.
          </span>
        ) : null}
        <button type="submit" class="button primary" disabled={busy || name.trim() === me.displayName}>
          {busy ? 'Saving…' : 'Save name'}
        </button>
      </div>
    </form>
  );
}

function PasswordForm() {
  const controller = useController();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [repeat, setRepeat] = useState('');
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState(NO_ERRORS);
  const [saved, setSaved] = useState(false);
  return (
    <form
      class="stack"
      aria-labelledby="profile-password-heading"
      onSubmit={async (event) => {
        event.preventDefault();
        setSaved(false);
        if (next !== repeat) {
          setErrors({ fields: { repeat: 'The new passwords do not match.' }, general: null });
          return;
        }
        setBusy(true);
        setErrors(NO_ERRORS);
        try {
          await controller.rest.changePassword(current, next);
          setCurrent('');
          setNext('');
          setRepeat('');
          setSaved(true);
        } catch (caught) {
          setErrors(formErrors(caught, ['currentPassword', 'newPassword']));
        } finally {
          setBusy(false);
        }
      }}
    >
      <h3 id="profile-password-heading">Password</h3>
      {/* Lets password managers tie the new password to the account. */}
      <input
        type="text"
        class="visually-hidden"
        autoComplete="username"
        value={controller.me.username}
        readOnly
        tabIndex={-1}
        aria-hidden="true"
      />
      <FormField
        label="Current password"
        type="password"
        value={current}
        onValue={setCurrent}
        error={errors.fields.currentPassword}
        autoComplete="current-password"
        required
      />
      <FormField
        label="New password"
        type="password"
        value={next}
        onValue={setNext}
        error={errors.fields.newPassword}
        hint="At least 10 characters, not your username."
        autoComplete="new-password"
        required
      />
      <FormField
        label="Repeat new password"
        type="password"
        value={repeat}
        onValue={setRepeat}
        error={errors.fields.repeat}
        autoComplete="new-password"
        required
      />
      <ErrorText error={errors.general} />
      <div class="dialog-actions">
        {saved ? (
          <span class="saved" role="status">
            Password changed. Your other sessions were signed out.
          </span>
        ) : null}
        <button type="submit" class="button primary" disabled={busy}>
          {busy ? 'Saving…' : 'Change password'}
        </button>
      </div>
    </form>
  );
}

/** `passwords` is false when the server runs without accounts (nickname sign-in): there is none to change. */
export function ProfileDialog({ passwords, onClose }: { passwords: boolean; onClose: () => void }) {
  const controller = useController();
  const me = controller.me;
  return (
    <Modal title="Your profile" onClose={onClose}>
      <p class="muted">
        Signed in as <strong>@{me.username}</strong> ({me.role}).
      </p>
      <DisplayNameForm />
      {passwords ? <PasswordForm /> : null}
      <section class="stack" aria-labelledby="profile-sessions-heading">
        <h3 id="profile-sessions-heading">Sessions</h3>
        <p class="muted">
          Signed in on another device you no longer use? End every session, this one included.
        </p>
        <div class="dialog-actions">
          <ConfirmButton
            danger
            label="Sign out everywhere"
            question="Sign out of every session, on every device?"
            confirmLabel="Sign out everywhere"
            onConfirm={async () => {
              const refreshToken = controller.rest.session?.refreshToken;
              await controller.rest.request('POST', '/auth/logout', { refreshToken, allSessions: true });
              await controller.signOut();
            }}
          />
        </div>
      </section>
    </Modal>
  );
}
