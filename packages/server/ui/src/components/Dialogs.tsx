import type { Room, User, UserRole } from '@kaiwa/protocol';
import { useEffect, useId, useState } from 'preact/hooks';
import { useController } from '../hooks';
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
    <Modal title="Create a room" onClose={onClose}>
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
          label="Name"
          value={name}
          onValue={setName}
          hint="Letters, digits, “_”, “.” or “-”, no spaces."
          maxLength={64}
          required
          autoFocus
        />
        <Field label="Topic" value={topic} onValue={setTopic} maxLength={512} />
        <fieldset class="choices">
          <legend>Who can join</legend>
          <label>
            <input
              type="radio"
              name={kindName}
              checked={kind === 'channel'}
              onChange={() => setKind('channel')}
            />{' '}
            Public channel <span class="muted">— anyone can find and join it</span>
          </label>
          <label>
            <input
              type="radio"
              name={kindName}
              checked={kind === 'group'}
              onChange={() => setKind('group')}
            />{' '}
            Private group <span class="muted">— by invitation only</span>
          </label>
        </fieldset>
        <ErrorText error={error} />
        <div class="dialog-actions">
          <button type="button" class="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="button primary" disabled={busy}>
            Create room
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
    <Modal title="Browse channels" onClose={onClose}>
      <Field label="Filter channels" type="search" value={filter} onValue={setFilter} autoFocus />
      <ErrorText error={error} />
      {rooms === null && !error ? (
        <p role="status">Loading…</p>
      ) : shown.length === 0 ? (
        <p class="muted">{rooms?.length ? 'No channel matches.' : 'There are no public channels yet.'}</p>
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
                    Open <span class="visually-hidden">#{room.name}</span>
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
                    Join <span class="visually-hidden">#{room.name}</span>
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
    <Modal title="New direct message" onClose={onClose}>
      <Field label="Find people" type="search" value={filter} onValue={setFilter} autoFocus />
      {onGroup ? (
        <button type="button" class="link-button group-link" onClick={onGroup}>
          Start a group conversation with several people instead
        </button>
      ) : null}
      <ErrorText error={error ?? loadError} />
      {people === null && !loadError ? (
        <p role="status">Loading…</p>
      ) : shown.length === 0 ? (
        <p class="muted">Nobody matches.</p>
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
    <Modal title="People" onClose={onClose}>
      <form
        class="stack"
        aria-label="Create an account"
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
        <h3>Create an account</h3>
        <div class="field-row">
          <Field
            label="Username"
            value={username}
            onValue={setUsername}
            autoCapitalize="none"
            spellcheck={false}
            required
            autoFocus
          />
          <Field label="Display name" value={displayName} onValue={setDisplayName} />
          <div class="field">
            <label for={roleId}>Role</label>
            <select
              id={roleId}
              value={role}
              onChange={(event) => setRole(event.currentTarget.value as UserRole)}
            >
              {ROLES.map((each) => (
                <option key={each} value={each}>
                  {each}
                </option>
              ))}
            </select>
          </div>
        </div>
        <ErrorText error={error} />
        <div class="dialog-actions">
          <button type="submit" class="button primary" disabled={busy}>
            Create account
          </button>
        </div>
      </form>
      {created ? (
        <div class="created" role="status">
          <p>
            Created <strong>@{created.user.username}</strong>.
          </p>
          {created.oneTimePassword ? (
            <p>
              One-time password:{' '}
              <output class="secret" aria-label={`One-time password for ${created.user.username}`}>
                {created.oneTimePassword}
              </output>{' '}
              <button
                type="button"
                class="button small"
                onClick={() => void navigator.clipboard?.writeText(created.oneTimePassword ?? '')}
              >
                Copy
              </button>
              <br />
              <span class="muted">It is shown only now; they choose their own at first sign-in.</span>
            </p>
          ) : (
            <p class="muted">Bots sign in with API keys.</p>
          )}
        </div>
      ) : null}
      <AdminPeopleList refreshKey={created} />
    </Modal>
  );
}
