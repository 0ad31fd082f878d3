import type { Room, User, UserRole } from '@kaiwa/protocol';
import { useEffect, useId, useState } from 'preact/hooks';
import { useController } from '../hooks';
import { t, tRich } from '../i18n';
import { AdminPeopleList } from './AdminPeople';
import { Avatar, describeError, ErrorText, Field, Modal, PresenceDot } from './common';

export function CreateRoomDialog({
  onClose,
  onCreated,
}: {
  onClose: () => void;
  onCreated: (room: Room) => void;
}) {
  const controller = useController();
  const [name, setName] = useState('');
  const [topic, setTopic] = useState('');
  const [kind, setKind] = useState<'channel' | 'group'>('channel');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const kindName = useId();
  return (
    <Modal title={t('rooms.createTitle')} onClose={onClose}>
      <form
        class="stack"
        onSubmit={async (event) => {
          event.preventDefault();
          setBusy(true);
          setError(null);
          try {
            onCreated(await controller.createRoom({ kind, name: name.trim(), topic: topic.trim() }));
          } catch (caught) {
            setError(describeError(caught));
            setBusy(false);
          }
        }}
      >
        <Field
          label={t('rooms.name')}
          value={name}
          onValue={setName}
          hint={t('rooms.nameHint')}
          maxLength={64}
          required
          autoFocus
        />
        <Field label={t('rooms.topic')} value={topic} onValue={setTopic} maxLength={512} />
        <fieldset class="choices">
          <legend>{t('rooms.whoCanJoin')}</legend>
          <label>
            <input
              type="radio"
              name={kindName}
              checked={kind === 'channel'}
              onChange={() => setKind('channel')}
            />{' '}
            {t('rooms.publicChannel')} <span class="muted">{t('rooms.publicChannelHint')}</span>
          </label>
          <label>
            <input
              type="radio"
              name={kindName}
              checked={kind === 'group'}
              onChange={() => setKind('group')}
            />{' '}
            {t('rooms.privateGroup')} <span class="muted">{t('rooms.privateGroupHint')}</span>
          </label>
        </fieldset>
        <ErrorText error={error} />
        <div class="dialog-actions">
          <button type="button" class="button" onClick={onClose}>
            {t('common.cancel')}
          </button>
          <button type="submit" class="button primary" disabled={busy}>
            {t('rooms.create')}
          </button>
        </div>
      </form>
    </Modal>
  );
}

export function BrowseChannelsDialog({
  onClose,
  onOpen,
}: {
  onClose: () => void;
  onOpen: (roomId: string) => void;
}) {
  const controller = useController();
  const [rooms, setRooms] = useState<Room[] | null>(null);
  const [filter, setFilter] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [joining, setJoining] = useState<string | null>(null);
  useEffect(() => {
    controller.listChannels().then(
      (result) => setRooms(result.rooms),
      (caught: unknown) => setError(describeError(caught)),
    );
  }, [controller]);
  const shown = (rooms ?? []).filter((room) =>
    `${room.name ?? ''} ${room.topic}`.toLowerCase().includes(filter.trim().toLowerCase()),
  );
  return (
    <Modal title={t('rooms.browseTitle')} onClose={onClose}>
      <Field label={t('rooms.filterChannels')} type="search" value={filter} onValue={setFilter} autoFocus />
      <ErrorText error={error} />
      {rooms === null && !error ? (
        <p role="status">{t('common.loading')}</p>
      ) : shown.length === 0 ? (
        <p class="muted">{rooms?.length ? t('rooms.noChannelMatches') : t('rooms.noChannels')}</p>
      ) : (
        <ul class="pick-list">
          {shown.map((room) => {
            const member = controller.state.rooms.has(room.id);
            return (
              <li key={room.id}>
                <div class="pick-main">
                  <strong>#{room.name}</strong>
                  {room.topic ? <span class="muted">{room.topic}</span> : null}
                </div>
                {member ? (
                  <button type="button" class="button small" onClick={() => onOpen(room.id)}>
                    {t('rooms.open')} <span class="visually-hidden">#{room.name}</span>
                  </button>
                ) : (
                  <button
                    type="button"
                    class="button primary small"
                    disabled={joining !== null}
                    onClick={async () => {
                      setJoining(room.id);
                      try {
                        await controller.joinRoom(room);
                        onOpen(room.id);
                      } catch (caught) {
                        setError(describeError(caught));
                        setJoining(null);
                      }
                    }}
                  >
                    {t('rooms.join')} <span class="visually-hidden">#{room.name}</span>
                  </button>
                )}
              </li>
            );
          })}
        </ul>
      )}
    </Modal>
  );
}

function usePeople(): { people: User[] | null; error: string | null; reload: () => void } {
  const controller = useController();
  const [people, setPeople] = useState<User[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const reload = () => {
    controller.listUsers().then(setPeople, (caught: unknown) => setError(describeError(caught)));
  };
  useEffect(reload, [controller]);
  return { people, error, reload };
}

export function DirectMessageDialog({
  onClose,
  onOpen,
  onGroup,
}: {
  onClose: () => void;
  onOpen: (roomId: string) => void;
  /** Switches to choosing several people for a private group. */
  onGroup?: () => void;
}) {
  const controller = useController();
  const { people, error: loadError } = usePeople();
  const [filter, setFilter] = useState('');
  const [error, setError] = useState<string | null>(null);
  const me = controller.me;
  const query = filter.trim().toLowerCase();
  const shown = (people ?? []).filter(
    (user) =>
      user.id !== me.id && (user.username.includes(query) || user.displayName.toLowerCase().includes(query)),
  );
  return (
    <Modal title={t('people.directTitle')} onClose={onClose}>
      <Field label={t('people.find')} type="search" value={filter} onValue={setFilter} autoFocus />
      {onGroup ? (
        <button type="button" class="link-button group-link" onClick={onGroup}>
          {t('people.groupInstead')}
        </button>
      ) : null}
      <ErrorText error={error ?? loadError} />
      {people === null && !loadError ? (
        <p role="status">{t('common.loading')}</p>
      ) : shown.length === 0 ? (
        <p class="muted">{t('people.nobodyMatches')}</p>
      ) : (
        <ul class="pick-list">
          {shown.map((user) => (
            <li key={user.id}>
              <button
                type="button"
                class="person-button"
                onClick={async () => {
                  try {
                    const room = await controller.openDirect(user.id);
                    onOpen(room.id);
                  } catch (caught) {
                    setError(describeError(caught));
                  }
                }}
              >
                <Avatar user={user} size="small" />
                <span class="person-name">{user.displayName}</span>
                <span class="muted">@{user.username}</span>
                <PresenceDot status={controller.state.presence.get(user.id)} />
              </button>
            </li>
          ))}
        </ul>
      )}
    </Modal>
  );
}

const ROLES: UserRole[] = ['member', 'moderator', 'admin', 'guest', 'bot'];

/** Admins: the people on the server, and new accounts with their one-time passwords. */
export function PeopleDialog({ onClose }: { onClose: () => void }) {
  const controller = useController();
  const [username, setUsername] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [role, setRole] = useState<UserRole>('member');
  const [error, setError] = useState<string | null>(null);
  const [created, setCreated] = useState<{ user: User; oneTimePassword?: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const roleId = useId();
  return (
    <Modal title={t('people.title')} onClose={onClose}>
      <form
        class="stack"
        aria-label={t('people.createAccount')}
        onSubmit={async (event) => {
          event.preventDefault();
          setBusy(true);
          setError(null);
          try {
            const result = await controller.createAccount({
              username: username.trim().toLowerCase(),
              role,
              ...(displayName.trim() ? { displayName: displayName.trim() } : {}),
            });
            setCreated(result);
            setUsername('');
            setDisplayName('');
          } catch (caught) {
            setError(describeError(caught));
          } finally {
            setBusy(false);
          }
        }}
      >
        <h3>{t('people.createAccount')}</h3>
        <div class="field-row">
          <Field
            label={t('auth.username')}
            value={username}
            onValue={setUsername}
            autoCapitalize="none"
            spellcheck={false}
            required
            autoFocus
          />
          <Field label={t('auth.displayName')} value={displayName} onValue={setDisplayName} />
          <div class="field">
            <label for={roleId}>{t('people.role')}</label>
            <select
              id={roleId}
              value={role}
              onChange={(event) => setRole(event.currentTarget.value as UserRole)}
            >
              {ROLES.map((each) => (
                <option key={each} value={each}>
                  {t(`profile.roles.${each}`)}
                </option>
              ))}
            </select>
          </div>
        </div>
        <ErrorText error={error} />
        <div class="dialog-actions">
          <button type="submit" class="button primary" disabled={busy}>
            {t('people.createAccountButton')}
          </button>
        </div>
      </form>
      {created ? (
        <div class="created" role="status">
          <p>{tRich('people.created', { name: <strong>@{created.user.username}</strong> })}</p>
          {created.oneTimePassword ? (
            <p>
              {t('people.oneTimePassword')}{' '}
              <output
                class="secret"
                aria-label={t('people.oneTimePasswordFor', { username: created.user.username })}
              >
                {created.oneTimePassword}
              </output>{' '}
              <button
                type="button"
                class="button small"
                onClick={() => void navigator.clipboard?.writeText(created.oneTimePassword ?? '')}
              >
                {t('people.copy')}
              </button>
              <br />
              <span class="muted">{t('people.shownOnce')}</span>
            </p>
          ) : (
            <p class="muted">{t('people.botsUseKeys')}</p>
          )}
        </div>
      ) : null}
      <AdminPeopleList refreshKey={created} />
    </Modal>
  );
}
