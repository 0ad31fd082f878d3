// First: the app's first requests leave while the rest of its code is still being evaluated.
import './first-requests';
import { render } from 'preact';
import { App } from './components/App';
import { api } from './first-requests';
import { getLanguage, loadLanguage } from './i18n';
import { dropKeptViewWhenReplaced, keepViews } from './kept-view';
import { registerServiceWorker } from './register-service-worker';
import './styles.css';

const root = document.getElementById('app');
// A page that starts in German or Japanese fetches that catalogue first (English is in this script).
await loadLanguage(getLanguage()).catch(() => undefined);
if (root) {
  render(<App />, root);
  dropKeptViewWhenReplaced(root);
  keepViews(root, () => api.session?.user.id);
}
registerServiceWorker();
