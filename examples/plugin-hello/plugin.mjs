// The Hello plugin. Kaiwa runs the bundled copy (dist/plugin.mjs, `npm run build`): in its sandbox a plugin reads
// only its own folder, so the SDK travels inside the bundle.
import { definePlugin } from '@kaiwa/plugin-sdk';

definePlugin({
  commands: {
    async hello({ args, userId }, { settings, storage, log }) {
      const name = args.trim() || `<@${userId}>`;
      const count = ((await storage.get('greeted')) ?? 0) + 1;
      await storage.set('greeted', count);
      log.info('greeted', { name, count });
      return `${settings.greeting}, ${name}!`;
    },
  },
  steps: {
    'hello.greet': ({ input }, { settings }) => {
      const name = typeof input === 'object' && input !== null && 'name' in input ? input.name : input;
      return { greeting: `${settings.greeting}, ${String(name)}!` };
    },
  },
  routes: {
    // GET /plugins/hello/greeting: the greeting and how often it was given, as JSON.
    async 'GET /greeting'(_request, { settings, storage }) {
      return { body: { greeting: settings.greeting, greeted: (await storage.get('greeted')) ?? 0 } };
    },
    // POST /plugins/hello/greetings/Ada?shout=1 with { "punctuation": "?" }: greets the caller's choice.
    'POST /greetings/:name'({ params, query, body, caller }, { settings }) {
      const punctuation = typeof body?.punctuation === 'string' ? body.punctuation.slice(0, 3) : '!';
      const greeting = `${settings.greeting}, ${params.name}${punctuation}`;
      return {
        status: 201,
        body: { greeting: query.shout ? greeting.toUpperCase() : greeting, by: caller?.username ?? null },
      };
    },
  },
  // Once after an upgrade to this version (a throw, or taking past the call deadline, rolls the upgrade back):
  // moves stored data to this version's shape. This one keeps its counter as `greeted`; an older one kept `count`.
  async migrate({ fromVersion, toVersion }, { storage, log }) {
    const legacy = await storage.get('count');
    if (typeof legacy === 'number') {
      await storage.set('greeted', legacy);
      await storage.delete('count');
    }
    log.info('migrated', { fromVersion, toVersion });
  },
  jobs: {
    async 'daily-tally'({ scheduledAt }, { storage, log }) {
      log.info('daily tally', { greeted: (await storage.get('greeted')) ?? 0, scheduledAt });
    },
  },
}).listen();
