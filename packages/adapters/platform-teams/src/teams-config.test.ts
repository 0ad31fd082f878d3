import { describe, expect, it } from 'vitest';
import { teamsAdapterDescriptor } from './index.js';

/* The Teams settings a bridge file holds: the shared vocabulary, and last release's keys for one more release. */

const { configSchema, deprecations } = teamsAdapterDescriptor;

describe('teamsAdapterDescriptor.configSchema', () => {
  it.each([
    {
      name: 'the shared keys',
      settings: {
        token: 'password',
        auth: { MicrosoftAppId: 'app', MicrosoftAppType: 'SingleTenant' },
        apiUrl: 'http://127.0.0.1:1/',
        retry: { maxAttempts: 2, maxRetryAfterMs: 5000 },
      },
      config: {
        token: 'password',
        auth: { MicrosoftAppId: 'app', MicrosoftAppType: 'SingleTenant' },
        apiUrl: 'http://127.0.0.1:1/',
        retry: { maxAttempts: 2, maxRetryAfterMs: 5000 },
      },
      deprecated: [],
    },
    {
      name: 'last release’s keys',
      settings: {
        auth: { MicrosoftAppId: 'app', MicrosoftAppPassword: 'password' },
        serviceUrl: 'http://127.0.0.1:1/',
        maxRetries: 1,
        maxRetryDelayMs: 5000,
        receiver: { type: 'mounted' },
      },
      config: {
        token: 'password',
        auth: { MicrosoftAppId: 'app' },
        apiUrl: 'http://127.0.0.1:1/',
        retry: { maxAttempts: 2, maxRetryAfterMs: 5000 },
      },
      deprecated: [
        'serviceUrl: deprecated, write apiUrl',
        'auth.MicrosoftAppPassword: deprecated, write token',
        'maxRetries: deprecated, write retry.maxAttempts (maxRetries + 1: the first round counts)',
        'maxRetryDelayMs: deprecated, write retry.maxRetryAfterMs',
        'receiver: deprecated, remove it (Teams always posts to the webhook the host serves)',
      ],
    },
  ])('reads $name', ({ settings, config, deprecated }) => {
    expect(configSchema.parse(settings)).toEqual(config);
    expect(deprecations(settings)).toEqual(deprecated);
  });

  it('refuses the adapter-owned endpoint (listen), naming the field and what to do', () => {
    const result = configSchema.safeParse({ listen: { port: 3978 } });
    expect(result.error?.issues.map((issue) => issue.path)).toEqual([['listen']]);
    expect(result.error?.issues[0]?.message).toMatch(/\/api\/v1\/platforms\/teams\/events/);
  });

  it('always receives through the host webhook', () => {
    expect(teamsAdapterDescriptor.webhook?.receives(configSchema.parse({}))).toBe(true);
  });
});
