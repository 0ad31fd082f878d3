import type { PluginSettings } from '@kaiwa/client';
import { describe, expect, it } from 'vitest';
import { checkDraft, draftChanged, draftOf, valuesOf } from './plugin-settings-form';

const settings: PluginSettings = {
  pluginId: 'tuned',
  definitions: [
    {
      key: 'greeting',
      type: 'string',
      title: 'Greeting',
      required: false,
      default: 'Hello',
      minLength: 1,
      maxLength: 5,
      secret: false,
    },
    {
      key: 'tone',
      type: 'string',
      required: false,
      default: 'friendly',
      enum: ['friendly', 'formal'],
      maxLength: 1000,
      secret: false,
    },
    { key: 'repeat', type: 'integer', required: true, minimum: 1, maximum: 5, secret: false },
    { key: 'ratio', type: 'number', required: false, minimum: 0, maximum: 1, secret: false },
    { key: 'shout', type: 'boolean', required: false, default: false, secret: false },
    { key: 'apiToken', type: 'string', required: true, maxLength: 200, secret: true },
  ],
  values: { greeting: 'Hi', tone: 'friendly', repeat: 2, shout: true },
  secretsSet: ['apiToken'],
  updatedAt: '2026-12-07T09:00:00.000Z',
  updatedBy: 'admin-1',
  state: 'running',
};

describe('the plugin settings form', () => {
  it('starts from the values the plugin runs with; secrets and unset numbers start empty', () => {
    expect(draftOf(settings)).toEqual({
      greeting: 'Hi',
      tone: 'friendly',
      repeat: '2',
      ratio: '',
      shout: true,
      apiToken: '',
    });
  });

  it('knows whether anything changed', () => {
    const initial = draftOf(settings);
    expect(draftChanged(initial, { ...initial })).toBe(false);
    expect(draftChanged(initial, { ...initial, shout: false })).toBe(true);
    expect(draftChanged(initial, { ...initial, apiToken: 'x' })).toBe(true);
  });

  it('checks what a field cannot hold; lengths and bounds are left to the server', () => {
    const draft = { ...draftOf(settings), greeting: 'Hello!', repeat: '2.5', ratio: 'lots' };
    expect(checkDraft(settings, draft)).toEqual({
      repeat: { key: 'pluginSettings.problems.notAWholeNumber' },
      ratio: { key: 'pluginSettings.problems.notANumber' },
    });
    expect(checkDraft(settings, { ...draft, greeting: '', repeat: '', ratio: '-1' })).toEqual({
      repeat: { key: 'pluginSettings.problems.required' },
    });
    // A required secret that is saved may stay empty; one never saved may not.
    expect(checkDraft({ ...settings, secretsSet: [] }, draftOf(settings)).apiToken).toEqual({
      key: 'pluginSettings.problems.required',
    });
    expect(checkDraft(settings, { ...draftOf(settings), tone: 'grumpy' }).tone).toEqual({
      key: 'pluginSettings.problems.notAChoice',
    });
  });

  it('sends numbers as numbers and leaves empty fields out', () => {
    expect(valuesOf(settings, { ...draftOf(settings), ratio: '0.5', greeting: '' })).toEqual({
      tone: 'friendly',
      repeat: 2,
      ratio: 0.5,
      shout: true,
    });
    expect(valuesOf(settings, { ...draftOf(settings), apiToken: 'new-token' }).apiToken).toBe('new-token');
    // A decimal comma, as German keyboards type it.
    expect(valuesOf(settings, { ...draftOf(settings), ratio: '0,25' }).ratio).toBe(0.25);
    expect(checkDraft(settings, { ...draftOf(settings), ratio: '0,25' })).toEqual({});
  });
});
