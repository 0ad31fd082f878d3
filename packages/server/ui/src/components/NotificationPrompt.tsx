import { useController } from '../hooks';
import { type NotificationSetting, notificationSetting, notifierOf } from '../notifications';
import { Icon } from './icons';

/*
 * The banner that offers desktop notifications after the first mention (never on page load), and the bell in
 * the sidebar that turns them on and off.
 */

/** A bell, crossed out when notifications are off (drawn here: the shared icon set has none). */
function Bell({ off }: { off: boolean }) {
  return (
    <svg
      class="icon"
      viewBox="0 0 24 24"
      width="18"
      height="18"
      fill="none"
      stroke="currentColor"
      stroke-width="2"
      stroke-linecap="round"
      stroke-linejoin="round"
      aria-hidden="true"
      focusable="false"
    >
      <path d="M18 8a6 6 0 0 0-12 0c0 7-3 9-3 9h18s-3-2-3-9" />
      <path d="M13.7 21a2 2 0 0 1-3.4 0" />
      {off ? <path d="M3 3l18 18" /> : null}
    </svg>
  );
}

export function NotificationPrompt() {
  const controller = useController();
  const notifier = notifierOf(controller);
  const prompt = notifier.prompt;
  if (!prompt || notificationSetting() !== 'ask') return null;
  return (
    <div class="notification-prompt" role="status">
      <Bell off={false} />
      <span>
        {prompt.author} mentioned you in {prompt.room}. Get a desktop notification for mentions while Kaiwa is
        in the background?
      </span>
      <button type="button" class="button primary small" onClick={() => void notifier.enable(true)}>
        Turn on notifications
      </button>
      <button
        type="button"
        class="icon-button small"
        aria-label="Not now"
        title="Not now"
        onClick={() => notifier.dismissPrompt()}
      >
        <Icon name="close" />
      </button>
    </div>
  );
}

const LABELS: Record<NotificationSetting, string> = {
  unsupported: 'Desktop notifications are not available in this browser',
  blocked: 'Desktop notifications are blocked in this browser’s site settings',
  on: 'Desktop notifications are on',
  off: 'Desktop notifications are off',
  ask: 'Desktop notifications are off',
};

/** The sidebar's bell: pressed while desktop notifications are on. */
export function NotificationToggle() {
  const controller = useController();
  const notifier = notifierOf(controller);
  const setting = notificationSetting();
  if (setting === 'unsupported') return null;
  const on = setting === 'on';
  return (
    <button
      type="button"
      class={`icon-button notification-toggle${on ? ' on' : ''}`}
      aria-label="Desktop notifications"
      aria-pressed={on}
      title={LABELS[setting]}
      onClick={async () => {
        if (setting === 'blocked') {
          controller.say(`${LABELS.blocked}: allow them there to get notified`);
          return;
        }
        const next = await notifier.enable(!on);
        if (next === 'blocked') controller.say(`${LABELS.blocked}: allow them there to get notified`);
      }}
    >
      <Bell off={!on} />
    </button>
  );
}
