import type { User, UserRole } from '@kaiwa/protocol';
import { useEffect, useId, useState } from 'preact/hooks';
import { useController } from '../hooks';
import { t, tRich } from '../i18n';
import { Avatar, describeError, ErrorText, PresenceDot } from './common';
import { ConfirmButton } from './FormField';

/*
 * Admins: everyone on the server, deactivated accounts included, each with their role, a password reset that
 * shows the new one-time password once, and deactivation (both asked for first). Admins cannot change their
 * own role or deactivate themselves (the server refuses; the controls are not offered).
 */

const USER_ROLES: UserRole[] = ['admin', 'moderator', 'member', 'guest', 'bot'];

function OneTimePassword({ user, password }: { user: User; password: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <div class="created" role="status">
      <p>
        {tRich('people.newOneTimePassword', { name: <strong>@{user.username}</strong> })}{' '}
        <output class="secret" aria-label={t('people.oneTimePasswordFor', { username: user.username })}>
          {password}
        </output>{' '}
        <button
          type="button"
          class="button small"
          onClick={() => {
            void navigator.clipboard?.writeText(password).then(() => setCopied(true));
          }}
        >
          {copied ? t('people.copied') : t('people.copy')}
        </button>
      </p>
      <p class="muted">{t('people.shownOnceReset')}</p>
    </div>
  );
}

function PersonRow({ user, me, onChanged }: { user: User; me: boolean; onChanged: (user: User) => void }) {
  const controller = useController();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [oneTime, setOneTime] = useState<string | null>(null);
  const roleId = useId();
  const deactivated = Boolean(user.deactivatedAt);
  const presence = me ? 'online' : controller.state.presence.get(user.id);
  return (
    <li class={`admin-person${deactivated ? ' deactivated' : ''}`}>
      <div class="admin-person-main">
        <Avatar user={user} size="small" />
        <span class="member-names">
          <span class="person-name">
            {user.displayName}
            {me ? <span class="muted"> {t('people.you')}</span> : null}
          </span>
          <span class="muted">@{user.username}</span>
        </span>
        {deactivated ? (
          <span class="role deactivated-badge">{t('people.deactivated')}</span>
        ) : (
          <PresenceDot status={presence} />
        )}
        <label class="visually-hidden" for={roleId}>
          {t('people.roleOf', { name: user.displayName })}
        </label>
        <select
          id={roleId}
          class="member-role"
          value={user.role}
          disabled={busy || me || deactivated}
          onChange={async (event) => {
            const select = event.currentTarget;
            const role = select.value as UserRole;
            setBusy(true);
            setError(null);
            try {
              onChanged(await controller.rest.setUserRole(user.id, role));
            } catch (caught) {
              select.value = user.role;
              setError(describeError(caught));
            } finally {
              setBusy(false);
            }
          }}
        >
          {USER_ROLES.map((role) => (
            <option key={role} value={role}>
              {t(`profile.roles.${role}`)}
            </option>
          ))}
        </select>
      </div>
      {me ? null : (
        <div class="admin-person-actions">
          {user.role === 'bot' || deactivated ? null : (
            <ConfirmButton
              small
              label={t('people.resetPassword')}
              accessibleLabel={t('people.resetPasswordOf', { name: user.displayName })}
              question={t('people.resetQuestion', { name: user.displayName })}
              confirmLabel={t('people.resetPassword')}
              onConfirm={async () => {
                const result = await controller.rest.resetPassword(user.id);
                setOneTime(result.oneTimePassword);
                onChanged(result.user);
              }}
            />
          )}
          {deactivated ? (
            <ConfirmButton
              small
              label={t('people.reactivate')}
              accessibleLabel={t('people.reactivateName', { name: user.displayName })}
              question={t('people.reactivateQuestion', { name: user.displayName })}
              confirmLabel={t('people.reactivate')}
              onConfirm={async () => onChanged(await controller.rest.reactivateUser(user.id))}
            />
          ) : (
            <ConfirmButton
              small
              danger
              label={t('people.deactivate')}
              accessibleLabel={t('people.deactivateName', { name: user.displayName })}
              question={t('people.deactivateQuestion', { name: user.displayName })}
              confirmLabel={t('people.deactivate')}
              onConfirm={async () => {
                setOneTime(null);
                onChanged(await controller.rest.deactivateUser(user.id));
              }}
            />
          )}
        </div>
      )}
      {oneTime ? <OneTimePassword user={user} password={oneTime} /> : null}
      <ErrorText error={error} />
    </li>
  );
}

/** The managed list of everyone; `refreshKey` changing (a new account) loads it again. */
export function AdminPeopleList({ refreshKey }: { refreshKey?: unknown }) {
  const controller = useController();
  const [people, setPeople] = useState<User[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [filter, setFilter] = useState('');
  const filterId = useId();
  useEffect(() => {
    controller.rest.listUsers({ includeDeactivated: true, limit: 200 }).then(
      (result) => setPeople(result.users),
      (caught: unknown) => setError(describeError(caught)),
    );
  }, [controller, refreshKey]);
  const wanted = filter.trim().toLowerCase();
  const shown = (people ?? [])
    .filter((user) => user.username.includes(wanted) || user.displayName.toLowerCase().includes(wanted))
    .sort(
      (a, b) =>
        Number(Boolean(a.deactivatedAt)) - Number(Boolean(b.deactivatedAt)) ||
        a.displayName.localeCompare(b.displayName),
    );
  return (
    <section class="admin-people stack" aria-labelledby="admin-people-heading">
      <div class="details-section-header">
        <h3 id="admin-people-heading">
          {people ? t('people.everyoneCount', { count: people.length }) : t('people.everyone')}
        </h3>
        <div class="field admin-filter">
          <label for={filterId} class="visually-hidden">
            {t('people.filter')}
          </label>
          <input
            id={filterId}
            type="search"
            placeholder={t('people.filter')}
            value={filter}
            onInput={(event) => setFilter(event.currentTarget.value)}
          />
        </div>
      </div>
      <ErrorText error={error} />
      {people === null && !error ? (
        <p role="status">{t('common.loading')}</p>
      ) : (
        <ul class="admin-people-list">
          {shown.map((user) => (
            <PersonRow
              key={user.id}
              user={user}
              me={user.id === controller.me.id}
              onChanged={(changed) => {
                setPeople((current) =>
                  (current ?? []).map((each) => (each.id === changed.id ? changed : each)),
                );
                if (!changed.deactivatedAt) controller.state.addUsers([changed]);
              }}
            />
          ))}
        </ul>
      )}
    </section>
  );
}
