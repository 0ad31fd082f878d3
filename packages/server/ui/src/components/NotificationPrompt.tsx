import { useController } from '../hooks';
import { t } from '../i18n';
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
      <span>{t('notifications.prompt', { author: prompt.author, room: prompt.room })}</span>
      <button type="button" class="button primary small" onClick={() => void notifier.enable(true)}>
        {t('notifications.turnOn')}
      </button>
      <button
        type="button"
        class="icon-button small"
        aria-label={t('notifications.notNow')}
        title={t('notifications.notNow')}
        onClick={() => notifier.dismissPrompt()}
      >
        <Icon name="close" />
      </button>
    </div>
  );
}

function label(setting: NotificationSetting): string {
  return t(`notifications.${setting === 'ask' ? 'off' : setting}`);
}

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
      aria-label={t('notifications.toggle')}
      aria-pressed={on}
      title={label(setting)}
      onClick={async () => {
        if (setting === 'blocked') {
          controller.say(t('notifications.blockedHelp'));
          return;
        }
        const next = await notifier.enable(!on);
        if (next === 'blocked') controller.say(t('notifications.blockedHelp'));
      }}
    >
      <Bell off={!on} />
    </button>
  );
}
