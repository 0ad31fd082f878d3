import { render } from 'preact';
import { App } from './components/App';
import { registerServiceWorker } from './register-service-worker';
import './styles.css';

const root = document.getElementById('app');
if (root) render(<App />, root);
registerServiceWorker();
