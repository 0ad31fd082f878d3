import type { RoomEntry } from '@kaiwa/client';
import type { MemberRole, Membership, NotifyLevel, RoomRights, RoomSummary, User } from '@kaiwa/protocol';
import { useEffect, useId, useRef, useState } from 'preact/hooks';
import { useController } from '../hooks';
import { t } from '../i18n';
import { Avatar, describeError, ErrorText, PresenceDot } from './common';
import { ConfirmButton, FormField, formErrors, NO_ERRORS } from './FormField';
import { Icon } from './icons';
import { RoomKnowledgeSettings } from './RoomKnowledgeSettings';
import { RoomVoiceSettings } from './RoomVoiceSettings';

/*
 * The room details: a side panel beside the messages on a desktop, the whole screen on a phone. Name and
 * topic (edited in place by who may), my own settings (mute, notifications, favourite), the members with
 * their roles and presence (invite, remove, change roles where allowed), archive and leave.
 */

const MEMBER_ROLES: MemberRole[] = ['owner', 'moderator', 'member'];
const NOTIFY_LEVELS: NotifyLevel[] = ['default', 'all', 'mentions', 'none'];
const roleName = (role: MemberRole) => t(`roomDetails.roles.${role}`);
const notifyName = (level: NotifyLevel) => t(`roomDetails.notify.${level}`);
/** Until the server has said what I may do here (or when it does not say), no control is shown. */
const NO_RIGHTS: RoomRights = {
  manage: false,
  rename: false,
  invite: false,
  setRoles: false,
  removeRoles: [],
  changeSettings: false,
  moderate: false,
};

/** Name or topic, shown as text with an Edit button for who may change it. */
function EditableText({
  label,
  value,
  empty,
  canEdit,
  field,
  hint,
  maxLength,
  onSave,
}: {
  label: string;
  value: string;
  empty: string;
  canEdit: boolean;
  field: 'name' | 'topic';
  hint?: string;
  maxLength: number;
  onSave: (value: string) => Promise<void>;
}) {
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState(value);
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState(NO_ERRORS);
  const editRef = useRef<HTMLButtonElement>(null);
  const wasEditing = useRef(false);
  useEffect(() => {
    // Back from the form: the focus returns to the Edit button.
    if (wasEditing.current && !editing) editRef.current?.focus();
    wasEditing.current = editing;
  }, [editing]);
  if (editing) {
    return (
      <form
        class="stack details-edit"
        onSubmit={async (event) => {
          event.preventDefault();
          setBusy(true);
          setErrors(NO_ERRORS);
          try {
            await onSave(draft.trim());
            setEditing(false);
          } catch (caught) {
            setErrors(formErrors(caught, [field]));
          } finally {
            setBusy(false);
          }
        }}
        onKeyDown={(event) => {
          if (event.key === 'Escape') {
            event.preventDefault();
            event.stopPropagation();
            setEditing(false);
          }
        }}
      >
        <FormField
          label={label}
          value={draft}
          onValue={setDraft}
          error={errors.fields[field]}
          maxLength={maxLength}
          required={field === 'name'}
          autoFocus
          {...(hint ? { hint } : {})}
        />
        <ErrorText error={errors.general} />
        <div class="dialog-actions">
          <button type="button" class="button small" disabled={busy} onClick={() => setEditing(false)}>
            {t('common.cancel')}
          </button>
          <button type="submit" class="button small primary" disabled={busy}>
            {busy
              ? t('common.saving')
              : t(field === 'name' ? 'roomDetails.saveName' : 'roomDetails.saveTopic')}
          </button>
        </div>
      </form>
    );
  }
  return (
    <div class="details-row">
      <div class="details-value">
        <span class="details-label">{label}</span>
        <span class={value ? '' : 'muted'}>{value || empty}</span>
      </div>
      {canEdit ? (
        <button
          ref={editRef}
          type="button"
          class="button small"
          aria-label={t(field === 'name' ? 'roomDetails.editName' : 'roomDetails.editTopic')}
          onClick={() => {
            setDraft(value);
            setErrors(NO_ERRORS);
            setEditing(true);
          }}
        >
          {t('roomDetails.edit')}
        </button>
      ) : null}
    </div>
  );
}

/** Mute, notification level and favourite: my own view of the room, seen by nobody else. */
function MySettings({ roomId }: { roomId: string }) {
  const controller = useController();
  const [summary, setSummary] = useState<RoomSummary | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const notifyId = useId();
  useEffect(() => {
    // An empty change answers the current preferences.
    controller.rest.setRoomPreferences(roomId, {}).then(setSummary, (caught: unknown) => {
      setError(describeError(caught));
    });
  }, [controller, roomId]);
  const change = async (input: Parameters<typeof controller.rest.setRoomPreferences>[1]) => {
    const before = summary;
    // Shown at once (a checkbox that springs back until the server answers looks broken), undone on failure.
    if (before) {
      const { muted, ...preferences } = input;
      setSummary({
        ...before,
        membership: { ...before.membership, ...(muted === undefined ? {} : { muted }) },
        preferences: { ...before.preferences, ...preferences },
      });
    }
    setBusy(true);
    setError(null);
    try {
      setSummary(await controller.rest.setRoomPreferences(roomId, input));
      // The room list shows favourites and muted rooms: bring it up to date.
      controller.loadRooms().catch(() => undefined);
    } catch (caught) {
      setSummary(before);
      setError(describeError(caught));
    } finally {
      setBusy(false);
    }
  };
  if (!summary) {
    return error ? <ErrorText error={error} /> : <p role="status">{t('common.loading')}</p>;
  }
  return (
    <div class="stack details-settings">
      <label class="toggle">
        <input
          type="checkbox"
          checked={summary.membership.muted}
          disabled={busy}
          onChange={(event) => void change({ muted: event.currentTarget.checked })}
        />
        <span>
          {t('roomDetails.mute')}
          <span class="hint">{t('roomDetails.muteHint')}</span>
        </span>
      </label>
      <div class="field">
        <label for={notifyId}>{t('roomDetails.notifyAbout')}</label>
        <select
          id={notifyId}
          value={summary.preferences.notify}
          disabled={busy}
          onChange={(event) => void change({ notify: event.currentTarget.value as NotifyLevel })}
        >
          {NOTIFY_LEVELS.map((level) => (
            <option key={level} value={level}>
              {notifyName(level)}
            </option>
          ))}
        </select>
      </div>
      <label class="toggle">
        <input
          type="checkbox"
          checked={summary.preferences.favourite}
          disabled={busy}
          onChange={(event) => void change({ favourite: event.currentTarget.checked })}
        />
        <span>{t('roomDetails.favourite')}</span>
      </label>
      <ErrorText error={error} />
    </div>
  );
}

function MemberRow({
  roomId,
  member,
  user,
  me,
  rights,
  onChanged,
}: {
  roomId: string;
  member: Membership;
  user: User | undefined;
  me: boolean;
  rights: RoomRights;
  onChanged: () => void;
}) {
  const controller = useController();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const roleId = useId();
  const name = user?.displayName ?? t('message.someone');
  const presence = me ? 'online' : controller.state.presence.get(member.userId);
  return (
    <li class="member-row">
      <div class="member-main">
        <Avatar user={user} size="small" />
        <span class="member-names">
          <span class="person-name">
            {name}
            {me ? <span class="muted"> {t('people.you')}</span> : null}
          </span>
          {user ? <span class="muted">@{user.username}</span> : null}
        </span>
        <PresenceDot status={presence} />
        {rights.setRoles && !me ? (
          <>
            <label class="visually-hidden" for={roleId}>
              {t('people.roleOf', { name })}
            </label>
            <select
              id={roleId}
              class="member-role"
              value={member.role}
              disabled={busy}
              onChange={async (event) => {
                const role = event.currentTarget.value as MemberRole;
                setBusy(true);
                setError(null);
                try {
                  await controller.rest.setMemberRole(roomId, member.userId, role);
                  onChanged();
                } catch (caught) {
                  setError(describeError(caught));
                } finally {
                  setBusy(false);
                }
              }}
            >
              {MEMBER_ROLES.map((role) => (
                <option key={role} value={role}>
                  {roleName(role)}
                </option>
              ))}
            </select>
          </>
        ) : member.role === 'member' ? null : (
          <span class="role">{roleName(member.role)}</span>
        )}
      </div>
      {rights.removeRoles.includes(member.role) && !me ? (
        <div class="member-actions">
          <ConfirmButton
            small
            danger
            label={t('roomDetails.remove')}
            accessibleLabel={t('roomDetails.removeName', { name })}
            question={t('roomDetails.removeQuestion', { name })}
            confirmLabel={t('roomDetails.removeName', { name })}
            onConfirm={async () => {
              await controller.rest.removeMember(roomId, member.userId);
              onChanged();
            }}
          />
        </div>
      ) : null}
      <ErrorText error={error} />
    </li>
  );
}

/** Finds people in the directory and adds them. */
function InvitePeople({
  roomId,
  memberIds,
  onAdded,
}: {
  roomId: string;
  memberIds: Set<string>;
  onAdded: () => void;
}) {
  const controller = useController();
  const [people, setPeople] = useState<User[] | null>(null);
  const [query, setQuery] = useState('');
  const [adding, setAdding] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    controller.listUsers().then(setPeople, (caught: unknown) => setError(describeError(caught)));
  }, [controller]);
  const wanted = query.trim().toLowerCase();
  const shown = (people ?? [])
    .filter(
      (user) =>
        !memberIds.has(user.id) &&
        user.role !== 'bot' &&
        (user.username.includes(wanted) || user.displayName.toLowerCase().includes(wanted)),
    )
    .slice(0, 20);
  return (
    <div class="stack invite">
      <FormField
        label={t('roomDetails.findPeople')}
        type="search"
        value={query}
        onValue={setQuery}
        autoComplete="off"
        autoFocus
      />
      <ErrorText error={error} />
      {people === null && !error ? (
        <p role="status">{t('common.loading')}</p>
      ) : shown.length === 0 ? (
        <p class="muted">{wanted ? t('roomDetails.nobodyElse') : t('roomDetails.everyoneHere')}</p>
      ) : (
        <ul class="pick-list invite-list">
          {shown.map((user) => (
            <li key={user.id}>
              <Avatar user={user} size="small" />
              <div class="pick-main">
                <span class="person-name">{user.displayName}</span>
                <span class="muted">@{user.username}</span>
              </div>
              <button
                type="button"
                class="button small primary"
                disabled={adding !== null}
                onClick={async () => {
                  setAdding(user.id);
                  setError(null);
                  try {
                    await controller.rest.addMember(roomId, user.id);
                    onAdded();
                  } catch (caught) {
                    setError(describeError(caught));
                  } finally {
                    setAdding(null);
                  }
                }}
              >
                {adding === user.id ? t('roomDetails.adding') : t('roomDetails.add')}{' '}
                <span class="visually-hidden">{user.displayName}</span>
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

function Members({
  entry,
  rights,
  members,
  reload,
}: {
  entry: RoomEntry;
  rights: RoomRights;
  members: Membership[] | null;
  reload: () => void;
}) {
  const controller = useController();
  const [inviting, setInviting] = useState(false);
  const me = controller.me;
  const state = controller.state;
  const rank = (member: Membership) => MEMBER_ROLES.indexOf(member.role);
  const sorted = [...(members ?? [])].sort(
    (a, b) => rank(a) - rank(b) || state.nameOf(a.userId).localeCompare(state.nameOf(b.userId)),
  );
  return (
    <section class="details-section" aria-labelledby="details-members">
      <div class="details-section-header">
        <h3 id="details-members">
          {members ? t('roomDetails.membersCount', { count: members.length }) : t('roomDetails.members')}
        </h3>
        {/* Inviting picks people from the directory, which only those who may list users can read. */}
        {rights.invite && state.capabilities.listUsers ? (
          <button
            type="button"
            class="button small"
            aria-expanded={inviting}
            onClick={() => setInviting(!inviting)}
          >
            {inviting ? t('roomDetails.doneAdding') : t('roomDetails.addPeople')}
          </button>
        ) : null}
      </div>
      {inviting ? (
        <InvitePeople
          roomId={entry.room.id}
          memberIds={new Set((members ?? []).map((member) => member.userId))}
          onAdded={reload}
        />
      ) : null}
      {members === null ? (
        <p role="status">{t('roomDetails.loadingMembers')}</p>
      ) : (
        <ul class="member-list">
          {sorted.map((member) => (
            <MemberRow
              key={member.userId}
              roomId={entry.room.id}
              member={member}
              user={state.users.get(member.userId)}
              me={member.userId === me.id}
              rights={rights}
              onChanged={reload}
            />
          ))}
        </ul>
      )}
    </section>
  );
}

/** The details of the room on screen; `onClose` gives the focus back to the header's button. */
export function RoomDetailsPanel({ entry, onClose }: { entry: RoomEntry; onClose: () => void }) {
  const controller = useController();
  const state = controller.state;
  const room = entry.room;
  const roomId = room.id;
  const [members, setMembers] = useState<Membership[] | null>(null);
  // What I may do here, as the server rules it: with the room list, the members, and `room.rights` frames.
  const rights = entry.rights ?? NO_RIGHTS;
  const [error, setError] = useState<string | null>(null);
  const panelRef = useRef<HTMLElement>(null);

  const reload = () => {
    controller.rest.listMembers(roomId, { limit: 200 }).then(
      (result) => {
        setMembers(result.members);
        if (result.rights) state.setRights(roomId, result.rights);
        controller.ensureUsers(result.members.map((member) => member.userId));
      },
      (caught: unknown) => setError(describeError(caught)),
    );
  };
  useEffect(reload, [controller, roomId]);
  // Someone else invites, removes or promotes, or archives the room: the list and my rights follow.
  useEffect(
    () =>
      controller.onFrame((frame) => {
        if (
          (frame.type === 'member.joined' ||
            frame.type === 'member.left' ||
            frame.type === 'member.updated' ||
            frame.type === 'room.updated') &&
          frame.roomId === roomId
        ) {
          reload();
        }
      }),
    [controller, roomId],
  );
  useEffect(() => {
    panelRef.current?.querySelector<HTMLElement>('h2')?.focus();
  }, [roomId]);

  const direct = room.kind === 'direct';
  const title = state.roomTitle(roomId);
  const update = async (input: { name?: string; topic?: string; archived?: boolean }) => {
    state.upsertRoom(await controller.rest.updateRoom(roomId, input));
  };

  return (
    <aside
      id="room-details"
      class="room-details"
      ref={panelRef}
      aria-labelledby="room-details-title"
      onKeyDown={(event) => {
        if (event.key === 'Escape' && !event.defaultPrevented) onClose();
      }}
    >
      <div class="panel-header">
        <h2 id="room-details-title" tabIndex={-1}>
          {t('roomDetails.title')} <span class="muted panel-context">{direct ? title : `#${title}`}</span>
        </h2>
        <button type="button" class="icon-button" aria-label={t('roomDetails.close')} onClick={onClose}>
          <Icon name="close" />
        </button>
      </div>
      <div class="details-scroll">
        <ErrorText error={error} />
        {room.archived ? (
          <p class="notice" role="status">
            {t('roomDetails.archivedNotice')}
          </p>
        ) : null}
        {direct ? null : (
          <section class="details-section" aria-labelledby="details-about">
            <h3 id="details-about">{t('roomDetails.about')}</h3>
            <EditableText
              label={t('rooms.name')}
              field="name"
              value={room.name ?? ''}
              empty={t('roomDetails.noName')}
              canEdit={rights.rename}
              hint={t('rooms.nameHint')}
              maxLength={64}
              onSave={(name) => update({ name })}
            />
            <EditableText
              label={t('rooms.topic')}
              field="topic"
              value={room.topic}
              empty={t('roomDetails.noTopic')}
              canEdit={rights.rename}
              maxLength={512}
              onSave={(topic) => update({ topic })}
            />
            <p class="muted details-kind">
              {room.kind === 'channel' ? t('roomDetails.publicChannel') : t('roomDetails.privateGroup')}
            </p>
          </section>
        )}
        <section class="details-section" aria-labelledby="details-mine">
          <h3 id="details-mine">{t('roomDetails.yourSettings')}</h3>
          <MySettings roomId={roomId} />
        </section>
        {/* An archived room's settings are shown, not changed, until it is unarchived. */}
        <RoomVoiceSettings roomId={roomId} canChange={rights.changeSettings && !room.archived} />
        {direct ? null : (
          <RoomKnowledgeSettings roomId={roomId} canChange={rights.changeSettings && !room.archived} />
        )}
        <Members entry={entry} rights={rights} members={members} reload={reload} />
        <section class="details-section details-danger" aria-label={t('roomDetails.leaveOrArchive')}>
          {rights.manage ? (
            room.archived ? (
              <ConfirmButton
                label={t('roomDetails.unarchiveRoom')}
                question={t('roomDetails.unarchiveQuestion')}
                confirmLabel={t('roomDetails.unarchive')}
                onConfirm={() => update({ archived: false })}
              />
            ) : (
              <ConfirmButton
                label={t('roomDetails.archiveRoom')}
                question={t('roomDetails.archiveQuestion')}
                confirmLabel={t('roomDetails.archive')}
                danger
                onConfirm={() => update({ archived: true })}
              />
            )
          ) : null}
          {direct ? null : (
            <ConfirmButton
              label={t('roomDetails.leaveRoom')}
              question={
                room.kind === 'group'
                  ? t('roomDetails.leaveGroupQuestion')
                  : t('roomDetails.leaveChannelQuestion')
              }
              confirmLabel={t('roomDetails.leave')}
              danger
              onConfirm={async () => {
                await controller.leaveRoom(roomId);
                onClose();
              }}
            />
          )}
        </section>
      </div>
    </aside>
  );
}
