import type { RoomEntry } from '@kaiwa/client';
import { useController } from '../hooks';
import { t } from '../i18n';
import { describeError } from './common';

/*
 * What the room list shows beside a room's name: a red `@3` for unread mentions, the plain unread count
 * otherwise (red for direct messages and groups, quiet for channels; none in muted rooms), and a star that
 * adds the room to the favourites or takes it out.
 */

const shortCount = (count: number) => (count > 99 ? '99+' : String(count));

export function RoomBadges({ entry }: { entry: RoomEntry }) {
  const muted = entry.membership?.muted ?? false;
  if (entry.mentions > 0) {
    return (
      <span class="badge mention-badge" aria-hidden="true">
        @{shortCount(entry.mentions)}
      </span>
    );
  }
  if (muted || entry.unread === 0) return null;
  return (
    <span class={`badge${entry.room.kind === 'channel' ? ' quiet' : ''}`} aria-hidden="true">
      {shortCount(entry.unread)}
    </span>
  );
}

/** The words a room link adds for its mentions, for screen readers (`2 mentions`; empty for none). */
export function mentionLabel(entry: RoomEntry): string {
  if (entry.mentions === 0) return '';
  return t('roomList.mentions', { count: entry.mentions });
}

export function FavouriteButton({ entry, title }: { entry: RoomEntry; title: string }) {
  const controller = useController();
  const favourite = entry.preferences.favourite;
  const label = t(favourite ? 'roomList.removeFavourite' : 'roomList.addFavourite', { title });
  return (
    <button
      type="button"
      class={`favourite-button${favourite ? ' on' : ''}`}
      aria-label={label}
      title={label}
      onClick={() =>
        controller
          .setRoomPreferences(entry.room.id, { favourite: !favourite })
          .catch((error: unknown) =>
            controller.say(t('roomList.favouriteFailed', { error: describeError(error) })),
          )
      }
    >
      <svg
        class="icon"
        viewBox="0 0 24 24"
        width="16"
        height="16"
        fill={favourite ? 'currentColor' : 'none'}
        stroke="currentColor"
        stroke-width="2"
        stroke-linejoin="round"
        aria-hidden="true"
        focusable="false"
      >
        <path d="M12 2.5l2.9 6 6.6.9-4.8 4.6 1.2 6.5L12 17.4l-5.9 3.1 1.2-6.5-4.8-4.6 6.6-.9z" />
      </svg>
    </button>
  );
}
