// A plugin with a settings schema of every kind, for the settings tests. Written against the wire protocol (not
// `definePlugin`) so it can ask Kaiwa `settings.get`: `GET /plugins/tuned/settings` answers what `initialize`
// gave it and what `settings.get` answers now, and its one job does nothing.
import { JsonRpcPeer, PROTOCOL_VERSION } from '@kaiwa/plugin-sdk';

let initial = null;
const peer = new JsonRpcPeer({
  send: (line) => process.stdout.write(`${line}\n`),
  handle: async (method, params) => {
    switch (method) {
      case 'initialize':
        initial = params.settings;
        return {
          protocolVersion: PROTOCOL_VERSION,
          commands: [],
          stepTypes: [],
          messageEvents: false,
          jobs: ['digest'],
          httpRoutes: ['GET /settings'],
        };
      case 'ping':
        return {};
      case 'shutdown':
        setImmediate(() => process.exit(0));
        return {};
      case 'jobs.run':
        return {};
      case 'http.request': {
        const { settings } = await peer.request('settings.get', {});
        return {
          status: 200,
          headers: { 'content-type': 'application/json' },
          body: { initial, current: settings },
        };
      }
      default:
        throw new Error(`unknown method ${method}`);
    }
  },
});
process.stdin.on('data', (chunk) => peer.receive(chunk));
process.stdin.on('end', () => process.exit(0));
