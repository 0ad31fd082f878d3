import { useId, useState } from 'preact/hooks';
import { useController } from '../hooks';
import { LANGUAGES, type Language, setLanguage, t, tRich, useLanguage } from '../i18n';
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
      <h3 id="profile-name-heading">{t('profile.yourName')}</h3>
      <FormField
        label={t('auth.displayName')}
        value={name}
        onValue={(value) => {
          setName(value);
          setSaved(false);
        }}
        hint={t('profile.displayNameHint', { username: me.username })}
        error={errors.fields.displayName}
        maxLength={64}
        autoComplete="name"
        required
      />
      <ErrorText error={errors.general} />
      <div class="dialog-actions">
        {saved ? (
          <span class="saved" role="status">
            {t('common.saved')}
          </span>
        ) : null}
        <button type="submit" class="button primary" disabled={busy || name.trim() === me.displayName}>
          {busy ? t('common.saving') : t('profile.saveName')}
        </button>
      </div>
    </form>
  );
}

/** The UI's language, for this browser: applied at once, kept in localStorage. */
function LanguageForm() {
  const language = useLanguage();
  const id = useId();
  const hintId = useId();
  return (
    <section class="stack" aria-labelledby="profile-language-heading">
      <div class="field">
        <h3 id="profile-language-heading">
          <label for={id}>{t('profile.language')}</label>
        </h3>
        <select
          id={id}
          value={language}
          aria-describedby={hintId}
          onChange={(event) => setLanguage(event.currentTarget.value as Language)}
        >
          {LANGUAGES.map((each) => (
            <option key={each.code} value={each.code} lang={each.code}>
              {each.name}
            </option>
          ))}
        </select>
        <p class="hint" id={hintId}>
          {t('profile.languageHint')}
        </p>
      </div>
    </section>
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
          setErrors({ fields: { repeat: t('auth.passwordsDiffer') }, general: null });
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
      <h3 id="profile-password-heading">{t('profile.password')}</h3>
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
        label={t('auth.currentPassword')}
        type="password"
        value={current}
        onValue={setCurrent}
        error={errors.fields.currentPassword}
        autoComplete="current-password"
        required
      />
      <FormField
        label={t('auth.newPassword')}
        type="password"
        value={next}
        onValue={setNext}
        error={errors.fields.newPassword}
        hint={t('auth.newPasswordHint')}
        autoComplete="new-password"
        required
      />
      <FormField
        label={t('auth.repeatPassword')}
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
            {t('profile.passwordChanged')}
          </span>
        ) : null}
        <button type="submit" class="button primary" disabled={busy}>
          {busy ? t('common.saving') : t('auth.changePassword')}
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
    <Modal title={t('profile.title')} onClose={onClose}>
      <p class="muted">
        {tRich('profile.signedInAs', {
          name: <strong>@{me.username}</strong>,
          role: t(`profile.roles.${me.role}`),
        })}
      </p>
      <DisplayNameForm />
      <LanguageForm />
      {passwords ? <PasswordForm /> : null}
      <section class="stack" aria-labelledby="profile-sessions-heading">
        <h3 id="profile-sessions-heading">{t('profile.sessions')}</h3>
        <p class="muted">{t('profile.sessionsText')}</p>
        <div class="dialog-actions">
          <ConfirmButton
            danger
            label={t('profile.signOutEverywhere')}
            question={t('profile.signOutEverywhereQuestion')}
            confirmLabel={t('profile.signOutEverywhere')}
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
