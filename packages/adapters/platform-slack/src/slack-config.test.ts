import { describe, expect, it } from 'vitest';
import { slackAdapterDescriptor } from './index.js';

/* The Slack settings a bridge file holds: the shared vocabulary, and last release's keys for one more release. */

const { configSchema, deprecations } = slackAdapterDescriptor;

describe('slackAdapterDescriptor.configSchema', () => {
  it.each([
    {
      name: 'the shared keys',
      settings: {
        token: 'xoxb-1',
        apiUrl: 'http://127.0.0.1:1/api/',
        retry: { maxAttempts: 3, backoff: { initialMs: 10 } },
        receiver: { type: 'socket', appToken: 'xapp-1' },
      },
      config: {
        token: 'xoxb-1',
        apiUrl: 'http://127.0.0.1:1/api/',
        retry: { maxAttempts: 3, backoff: { initialMs: 10 } },
        receiver: { type: 'socket', appToken: 'xapp-1' },
      },
      deprecated: [],
    },
    {
      name: 'last release’s keys',
      settings: {
        botToken: 'xoxb-1',
        slackApiUrl: 'http://127.0.0.1:1/api/',
        retryConfig: { retries: 0, minTimeout: 5, maxTimeout: 50 },
        receiver: { type: 'mounted', signingSecret: 's' },
      },
      config: {
        token: 'xoxb-1',
        apiUrl: 'http://127.0.0.1:1/api/',
        retry: { maxAttempts: 1, backoff: { initialMs: 5, maxMs: 50 } },
        receiver: { type: 'http', signingSecret: 's' },
      },
      deprecated: [
        'botToken: deprecated, write token',
        'slackApiUrl: deprecated, write apiUrl',
        'retryConfig: deprecated, write retry: { maxAttempts: <retries + 1>, backoff }',
        'receiver.type: mounted is deprecated, write http (the webhook the host serves)',
      ],
    },
  ])('reads $name', ({ settings, config, deprecated }) => {
    expect(configSchema.parse(settings)).toEqual(config);
    expect(deprecations(settings)).toEqual(deprecated);
  });

  it('refuses the adapter-owned HTTP server, naming the field and what to do', () => {
    const result = configSchema.safeParse({
      token: 'x',
      receiver: { type: 'http', signingSecret: 's', port: 3000 },
    });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(['receiver', 'port']);
    expect(result.error?.issues[0]?.message).toMatch(
      /no HTTP server of its own.*\/api\/v1\/platforms\/slack\/events/,
    );
  });

  it('receives through the host webhook only with the http receiver', () => {
    const http = configSchema.parse({ token: 'x', receiver: { type: 'http', signingSecret: 's' } });
    const socket = configSchema.parse({ token: 'x', receiver: { type: 'socket', appToken: 'a' } });
    expect(slackAdapterDescriptor.webhook?.receives(http)).toBe(true);
    expect(slackAdapterDescriptor.webhook?.receives(socket)).toBe(false);
  });
});
