import { t } from '../i18n';
import { navigation } from '../navigation';
import { Icon } from './icons';

/** The search field of the room header: opens the search (also on `/`). */
export function SearchButton() {
  return (
    <button
      type="button"
      class="search-button"
      aria-label={t('search.button')}
      aria-keyshortcuts="/"
      title={t('search.buttonTitle')}
      onClick={() => navigation.openSearch()}
    >
      <Icon name="search" />
      <span class="search-button-label">{t('search.label')}</span>
      <kbd class="search-button-key">/</kbd>
    </button>
  );
}
