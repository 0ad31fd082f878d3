import { t } from '../i18n';
import { Icon } from './icons';

/** The button in the room header that opens the details. */
export function RoomDetailsButton({ open, onClick }: { open: boolean; onClick: () => void }) {
  return (
    <button
      type="button"
      class="icon-button room-details-button"
      aria-label={t('roomDetails.button')}
      title={t('roomDetails.button')}
      aria-expanded={open}
      aria-controls="room-details"
      onClick={onClick}
    >
      <Icon name="info" />
    </button>
  );
}
