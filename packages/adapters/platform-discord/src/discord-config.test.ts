import { describe, expect, it } from 'vitest';
import { discordAdapterDescriptor } from './index.js';

/* The Discord settings a bridge file holds; Discord's keys already were the shared ones. */

describe('discordAdapterDescriptor', () => {
  it('reads the shared keys and Discord’s own, with nothing deprecated', () => {
    const settings = {
      token: 't',
      apiUrl: 'http://127.0.0.1:1/api',
      retry: { maxAttempts: 2 },
      webhooks: { name: 'Kaiwa' },
      acceptAttempts: 3,
    };
    expect(discordAdapterDescriptor.configSchema.parse(settings)).toEqual(settings);
    expect(discordAdapterDescriptor.deprecations(settings)).toEqual([]);
    expect(discordAdapterDescriptor.webhook).toBeUndefined();
  });

  it('names the field that is wrong', () => {
    const result = discordAdapterDescriptor.configSchema.safeParse({ token: '', receiver: { type: 'http' } });
    expect(result.error?.issues.map((issue) => [issue.path.join('.'), issue.code])).toEqual([
      ['token', 'too_small'],
      ['', 'unrecognized_keys'],
    ]);
  });
});
