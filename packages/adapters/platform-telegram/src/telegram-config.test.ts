import { describe, expect, it } from 'vitest';
import { telegramAdapterDescriptor } from './index.js';

/* The Telegram settings a bridge file holds: the shared vocabulary, and last release's keys for one more release. */

const { configSchema, deprecations } = telegramAdapterDescriptor;

describe('telegramAdapterDescriptor.configSchema', () => {
  it.each([
    {
      name: 'the shared keys',
      settings: {
        token: '1:a',
        apiUrl: 'http://127.0.0.1:1',
        retry: { maxAttempts: 2, maxRetryAfterMs: 1000 },
        receiver: { type: 'webhook', secretToken: 's', webhookUrl: 'https://chat.example.com/x' },
      },
      config: {
        token: '1:a',
        apiUrl: 'http://127.0.0.1:1',
        retry: { maxAttempts: 2, maxRetryAfterMs: 1000 },
        receiver: { type: 'webhook', secretToken: 's', webhookUrl: 'https://chat.example.com/x' },
      },
      deprecated: [],
    },
    {
      name: 'last release’s keys',
      settings: {
        token: '1:a',
        apiRoot: 'http://127.0.0.1:1',
        retry: { attempts: 0, backoffMs: 5, maxRetryAfterMs: 1000 },
        receiver: { type: 'mounted', secretToken: 's' },
      },
      config: {
        token: '1:a',
        apiUrl: 'http://127.0.0.1:1',
        retry: { maxAttempts: 1, backoff: { initialMs: 5 }, maxRetryAfterMs: 1000 },
        receiver: { type: 'webhook', secretToken: 's' },
      },
      deprecated: [
        'apiRoot: deprecated, write apiUrl',
        'retry.attempts: deprecated, write retry.maxAttempts (attempts + 1: the first try counts)',
        'retry.backoffMs: deprecated, write retry.backoff.initialMs',
        'receiver.type: mounted is deprecated, write webhook (the webhook the host serves)',
      ],
    },
    { name: 'polling by default', settings: { token: '1:a' }, config: { token: '1:a' }, deprecated: [] },
  ])('reads $name', ({ settings, config, deprecated }) => {
    expect(configSchema.parse(settings)).toEqual(config);
    expect(deprecations(settings)).toEqual(deprecated);
  });

  it('refuses the adapter-owned webhook server, naming the field and what to do', () => {
    const result = configSchema.safeParse({
      token: '1:a',
      receiver: { type: 'webhook', secretToken: 's', port: 8443 },
    });
    expect(result.error?.issues.map((issue) => issue.path)).toEqual([['receiver', 'port']]);
    expect(result.error?.issues[0]?.message).toMatch(/\/api\/v1\/platforms\/telegram\/events/);
  });

  it('receives through the host webhook only with the webhook receiver', () => {
    const webhook = configSchema.parse({ token: '1:a', receiver: { type: 'webhook', secretToken: 's' } });
    expect(telegramAdapterDescriptor.webhook?.receives(webhook)).toBe(true);
    expect(telegramAdapterDescriptor.webhook?.receives(configSchema.parse({ token: '1:a' }))).toBe(false);
  });
});
