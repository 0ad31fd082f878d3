import type { Room, User } from '@kaiwa/protocol';
import { useEffect, useState } from 'preact/hooks';
import { groupName } from '../group-name';
import { useController } from '../hooks';
import { t } from '../i18n';
import { Avatar, describeError, ErrorText, Field, Modal } from './common';

/** The most people a group conversation starts with, besides me. */
export const MAX_GROUP_PEOPLE = 8;

/** A private group with up to eight chosen people, named after them (`ada-bob-carol`). */
export function GroupMessageDialog({
  onClose,
  onOpen,
}: {
  onClose: () => void;
  onOpen: (room: Room) => void;
}) {
  const controller = useController();
  const me = controller.me;
  const [people, setPeople] = useState<User[] | null>(null);
  const [chosen, setChosen] = useState<User[]>([]);
  const [filter, setFilter] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    controller.listUsers().then(setPeople, (caught: unknown) => setError(describeError(caught)));
  }, [controller]);
  const query = filter.trim().toLowerCase();
  const shown = (people ?? []).filter(
    (user) =>
      user.id !== me.id &&
      user.role !== 'bot' &&
      (user.username.includes(query) || user.displayName.toLowerCase().includes(query)),
  );
  const full = chosen.length >= MAX_GROUP_PEOPLE;
  const isChosen = (user: User) => chosen.some((each) => each.id === user.id);
  return (
    <Modal title={t('group.title')} onClose={onClose}>
      <form
        class="stack"
        onSubmit={async (event) => {
          event.preventDefault();
          if (chosen.length === 0) {
            setError(t('group.chooseOne'));
            return;
          }
          setBusy(true);
          setError(null);
          try {
            const room = await controller.createRoom({
              kind: 'group',
              name: groupName([me.username, ...chosen.map((user) => user.username)]),
              memberIds: chosen.map((user) => user.id),
            });
            onOpen(room);
          } catch (caught) {
            setError(describeError(caught));
            setBusy(false);
          }
        }}
      >
        <Field label={t('people.find')} type="search" value={filter} onValue={setFilter} autoFocus />
        <p class="muted" role="status">
          {chosen.length === 0
            ? t('group.chooseUpTo', { max: MAX_GROUP_PEOPLE })
            : t('group.chosen', {
                count: chosen.length,
                max: MAX_GROUP_PEOPLE,
                names: chosen.map((user) => user.displayName).join(t('common.separator')),
              })}
        </p>
        {people === null && !error ? (
          <p role="status">{t('common.loading')}</p>
        ) : shown.length === 0 ? (
          <p class="muted">{t('people.nobodyMatches')}</p>
        ) : (
          <ul class="pick-list">
            {shown.map((user) => (
              <li key={user.id}>
                <label class="pick-person">
                  <input
                    type="checkbox"
                    checked={isChosen(user)}
                    disabled={!isChosen(user) && full}
                    onChange={(event) =>
                      setChosen(
                        event.currentTarget.checked
                          ? [...chosen, user]
                          : chosen.filter((each) => each.id !== user.id),
                      )
                    }
                  />
                  <Avatar user={user} size="small" />
                  <span class="person-name">{user.displayName}</span>
                  <span class="muted">@{user.username}</span>
                </label>
              </li>
            ))}
          </ul>
        )}
        <ErrorText error={error} />
        <div class="dialog-actions">
          <button type="button" class="button" onClick={onClose}>
            {t('common.cancel')}
          </button>
          <button type="submit" class="button primary" disabled={busy || chosen.length === 0}>
            {busy ? t('group.starting') : t('group.start')}
          </button>
        </div>
      </form>
    </Modal>
  );
}
