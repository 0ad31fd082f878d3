import { t } from '../i18n';

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
      <svg
        class="icon"
        viewBox="0 0 24 24"
        width="18"
        height="18"
        fill="none"
        stroke="currentColor"
        stroke-width="2"
        stroke-linecap="round"
        aria-hidden="true"
        focusable="false"
      >
        <path d="M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18z" />
        <path d="M12 16v-5" />
        <path d="M12 8h.01" />
      </svg>
    </button>
  );
}
