import type { RoomEntry } from '@kaiwa/client';
import { useEffect, useId, useRef, useState } from 'preact/hooks';
import { useController } from '../hooks';
import { t } from '../i18n';
import { roomMatch } from '../navigation';
import { PresenceDot } from './common';
import { Icon } from './icons';

/*
 * Ctrl+K (⌘K on a Mac): every room and direct message of the reader in a filterable list, unread ones
 * first; arrows and Enter pick one, Escape closes. A modal <dialog>, so focus stays inside and goes back
 * where it was.
 */

const isMac = typeof navigator !== 'undefined' && /Mac|iPhone|iPad/.test(navigator.platform);

export function RoomSwitcher({
  currentRoomId,
  onSelect,
  onClose,
}: {
  currentRoomId: string | null;
  onSelect: (roomId: string) => void;
  onClose: () => void;
}) {
  const controller = useController();
  const state = controller.state;
  const dialog = useRef<HTMLDialogElement>(null);
  const input = useRef<HTMLInputElement>(null);
  const titleId = useId();
  const listId = useId();
  const [filter, setFilter] = useState('');
  const [active, setActive] = useState(0);
  const closeRef = useRef(onClose);
  closeRef.current = onClose;

  useEffect(() => {
    const element = dialog.current;
    if (!element) return;
    const opener = document.activeElement as HTMLElement | null;
    if (!element.open) element.showModal();
    input.current?.focus();
    const onCancel = (event: Event) => {
      event.preventDefault();
      closeRef.current();
    };
    element.addEventListener('cancel', onCancel);
    return () => {
      element.removeEventListener('cancel', onCancel);
      if (element.open) element.close();
      // Back where it was, unless the choice moved on (the new room's message box takes it).
      if (document.activeElement === document.body || !document.activeElement) opener?.focus?.();
    };
  }, []);

  const rooms = [...state.rooms.values()]
    .map((entry) => ({
      entry,
      title: state.roomTitle(entry.room.id),
      // A muted room's messages wait without a count, as in the room list.
      unread: entry.membership?.muted ? 0 : entry.unread,
    }))
    .map((room) => ({ ...room, score: roomMatch(room.title, filter) }))
    .filter((room) => room.score > 0)
    .sort(
      (a, b) =>
        Number(b.unread > 0) - Number(a.unread > 0) ||
        b.score - a.score ||
        Number(a.entry.room.id === currentRoomId) - Number(b.entry.room.id === currentRoomId) ||
        a.title.localeCompare(b.title),
    );
  const chosen = Math.min(active, Math.max(rooms.length - 1, 0));
  const optionId = (index: number) => `${listId}-option-${index}`;

  useEffect(() => {
    document.getElementById(optionId(chosen))?.scrollIntoView({ block: 'nearest' });
  });

  const onKeyDown = (event: KeyboardEvent) => {
    if (event.isComposing) return;
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      if (rooms.length === 0) return;
      const step = event.key === 'ArrowDown' ? 1 : -1;
      setActive((chosen + step + rooms.length) % rooms.length);
    } else if (event.key === 'Enter') {
      event.preventDefault();
      const room = rooms[chosen];
      if (room) onSelect(room.entry.room.id);
    }
  };

  const icon = (entry: RoomEntry) => {
    if (entry.room.kind !== 'direct') return <Icon name={entry.room.kind === 'group' ? 'lock' : 'hash'} />;
    const peer = state.directPeer(entry.room.id);
    return <PresenceDot status={peer ? state.presence.get(peer) : undefined} />;
  };

  return (
    <dialog ref={dialog} class="modal navigation-dialog switcher-dialog" aria-labelledby={titleId}>
      <h2 id={titleId} class="visually-hidden">
        {t('switcher.title')}
      </h2>
      <div class="navigation-field">
        <Icon name="search" />
        <input
          ref={input}
          type="text"
          role="combobox"
          aria-label={t('switcher.find')}
          aria-expanded={rooms.length > 0}
          aria-controls={listId}
          aria-autocomplete="list"
          aria-activedescendant={rooms[chosen] ? optionId(chosen) : undefined}
          placeholder={t('switcher.find')}
          autocomplete="off"
          value={filter}
          onInput={(event) => {
            setFilter(event.currentTarget.value);
            setActive(0);
          }}
          onKeyDown={onKeyDown}
        />
        <kbd class="search-button-key">{isMac ? '⌘K' : t('switcher.ctrlK')}</kbd>
      </div>
      <div id={listId} class="navigation-results" role="listbox" aria-label={t('chat.rooms')}>
        {rooms.map(({ entry, title, unread }, index) => (
          <div
            key={entry.room.id}
            id={optionId(index)}
            role="option"
            aria-selected={index === chosen}
            class={`switcher-room${index === chosen ? ' active' : ''}${unread > 0 ? ' unread' : ''}`}
            onMouseMove={() => index !== chosen && setActive(index)}
            tabIndex={-1}
            onClick={() => onSelect(entry.room.id)}
            onKeyDown={(event) => event.key === 'Enter' && onSelect(entry.room.id)}
          >
            {icon(entry)}
            <span class="switcher-room-name">{title}</span>
            {entry.room.id === currentRoomId ? <span class="muted">{t('switcher.current')}</span> : null}
            {unread > 0 ? (
              <>
                <span class="badge" aria-hidden="true">
                  {unread > 99 ? '99+' : unread}
                </span>
                <span class="visually-hidden">, {t('common.unread', { count: unread })}</span>
              </>
            ) : null}
          </div>
        ))}
      </div>
      {rooms.length === 0 ? (
        <p class="navigation-status" role="status">
          {t('switcher.noMatch', { filter: filter.trim() })}
        </p>
      ) : null}
    </dialog>
  );
}
