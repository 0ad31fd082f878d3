import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PluginError } from './errors.js';
import {
  loadPluginPackage,
  parsePluginManifest,
  parsePluginSchedule,
  resolvePluginSettings,
} from './manifest.js';

const minimal = { id: 'hello', version: '1.0.0', engines: { kaiwa: '^0.1.0' }, entry: 'plugin.mjs' };

describe('parsePluginManifest', () => {
  it('fills in safe defaults: process runtime, no capabilities, no network, no storage', () => {
    const manifest = parsePluginManifest(minimal);
    expect(manifest.runtime).toBe('process');
    expect(manifest.capabilities).toEqual({
      messages: {},
      slashCommands: [],
      messageEvents: false,
      workflowSteps: [],
      httpRoutes: [],
      scheduledJobs: [],
      network: { outbound: [] },
      storage: { quotaBytes: 0 },
    });
    expect(manifest.limits).toEqual({ memoryMb: 128, callTimeoutMs: 5_000 });
  });

  it('names every problem with its path', () => {
    const error = (() => {
      try {
        parsePluginManifest({
          id: 'Hello!',
          version: 'one',
          engines: { kaiwa: 'soon' },
          entry: '../outside.mjs',
          runtime: 'vm',
          capabilities: {
            slashCommands: [{ name: 'Bad Name' }],
            workflowSteps: [{ type: 'other.step' }],
            messages: { post: { rooms: ['general'], everywhere: true } },
            netwrok: {},
          },
          settings: { level: { type: 'integer', minimum: 1, default: 0 } },
        });
      } catch (caught) {
        return caught;
      }
    })();
    expect(PluginError.isInstance(error)).toBe(true);
    const issues = (error as PluginError).issues.map((issue) => issue.path.join('.'));
    expect(issues).toEqual(
      expect.arrayContaining([
        'id',
        'version',
        'engines.kaiwa',
        'entry',
        'runtime',
        'capabilities.slashCommands.0.name',
        'capabilities.messages.post',
        'capabilities',
      ]),
    );
    expect((error as PluginError).code).toBe('invalid_manifest');
  });

  it('names step types outside the plugin id and defaults outside their own schema', () => {
    expect(() =>
      parsePluginManifest({
        ...minimal,
        capabilities: { workflowSteps: [{ type: 'other.step' }] },
        settings: { level: { type: 'integer', minimum: 1, default: 0 } },
      }),
    ).toThrow(
      expect.objectContaining({
        issues: [
          { path: ['capabilities', 'workflowSteps', 0, 'type'], message: expect.stringContaining('hello.') },
          { path: ['settings', 'level', 'default'], message: 'at least 1' },
        ],
      }),
    );
  });

  it('reads job schedules as 5-field cron in UTC and names a bad one by its path', () => {
    const manifest = parsePluginManifest({
      ...minimal,
      capabilities: {
        scheduledJobs: [
          { name: 'digest', schedule: '0 9 * * MON-FRI' },
          { name: 'sweep', schedule: '@hourly' },
        ],
      },
    });
    expect(manifest.capabilities.scheduledJobs).toEqual([
      { name: 'digest', schedule: '0 9 * * MON-FRI' },
      { name: 'sweep', schedule: '@hourly' },
    ]);
    // UTC whatever the server's time zone: a Friday 09:00 slot, then Monday's.
    expect(parsePluginSchedule('0 9 * * MON-FRI').nextRuns(2, new Date('2026-12-04T08:00:00Z'))).toEqual([
      new Date('2026-12-04T09:00:00Z'),
      new Date('2026-12-07T09:00:00Z'),
    ]);
    const problems = (schedules: string[]) => {
      try {
        parsePluginManifest({
          ...minimal,
          capabilities: {
            scheduledJobs: schedules.map((schedule, index) => ({ name: `job-${index}`, schedule })),
          },
        });
      } catch (error) {
        if (!PluginError.isInstance(error)) throw error;
        return error.issues.map((issue) => [issue.path.join('.'), issue.message]);
      }
      return [];
    };
    // Seconds (a sixth field) would allow more than one run a minute; a schedule that never comes is no schedule.
    const refused = problems(['* * * * * *', 'every monday', '61 * * * *', '0 0 30 2 *', '0 25 * * *']);
    expect(refused.map(([path]) => path)).toEqual([
      'capabilities.scheduledJobs.0.schedule',
      'capabilities.scheduledJobs.1.schedule',
      'capabilities.scheduledJobs.2.schedule',
      'capabilities.scheduledJobs.3.schedule',
      'capabilities.scheduledJobs.4.schedule',
    ]);
    expect(refused[0]?.[1]).toContain('5-field cron');
    expect(refused[3]?.[1]).toBe('this schedule never comes');
    expect(problems(['*/5 * * * *', '0 0 1 1 *'])).toEqual([]);
  });

  it('names a scheduled job declared twice', () => {
    expect(() =>
      parsePluginManifest({
        ...minimal,
        capabilities: {
          scheduledJobs: [
            { name: 'digest', schedule: '0 9 * * *' },
            { name: 'digest', schedule: '0 18 * * *' },
          ],
        },
      }),
    ).toThrow(
      expect.objectContaining({
        issues: [
          { path: ['capabilities', 'scheduledJobs', 1, 'name'], message: '"digest" is declared twice' },
        ],
      }),
    );
  });

  it('checks the engine range against this Kaiwa', () => {
    expect(() => parsePluginManifest(minimal, { engineVersion: '0.1.5' })).not.toThrow();
    expect(() => parsePluginManifest(minimal, { engineVersion: '0.2.0' })).toThrow(
      expect.objectContaining({ code: 'incompatible_engine' }),
    );
  });
});

describe('resolvePluginSettings', () => {
  const manifest = parsePluginManifest({
    ...minimal,
    settings: {
      greeting: { type: 'string', default: 'Hello' },
      mode: { type: 'string', enum: ['loud', 'quiet'], required: true },
      times: { type: 'integer', minimum: 1, maximum: 3, default: 1 },
      shout: { type: 'boolean' },
    },
  });

  it('fills defaults and keeps given values', () => {
    expect(resolvePluginSettings(manifest, { mode: 'loud', shout: true })).toEqual({
      greeting: 'Hello',
      mode: 'loud',
      times: 1,
      shout: true,
    });
  });

  it('names every bad value', () => {
    expect(() => resolvePluginSettings(manifest, { times: 1.5, shout: 'yes', extra: 1 })).toThrow(
      expect.objectContaining({
        code: 'invalid_settings',
        issues: [
          { path: ['extra'], message: 'not a setting of this plugin' },
          { path: ['mode'], message: 'required' },
          { path: ['times'], message: 'must be an integer' },
          { path: ['shout'], message: 'must be true or false' },
        ],
      }),
    );
  });
});

describe('loadPluginPackage', () => {
  const folderWith = async (files: Record<string, string>) => {
    const folder = await mkdtemp(join(tmpdir(), 'kaiwa-manifest-'));
    for (const [name, text] of Object.entries(files)) await writeFile(join(folder, name), text);
    return folder;
  };

  it('reads a YAML manifest', async () => {
    const folder = await folderWith({
      'kaiwa-plugin.yaml': 'id: hello\nversion: 1.0.0\nengines:\n  kaiwa: ^0.1.0\nentry: plugin.mjs\n',
      'plugin.mjs': '',
    });
    const plugin = await loadPluginPackage(folder);
    expect(plugin.manifest.id).toBe('hello');
    expect(plugin.entryPath).toBe(join(plugin.folder, 'plugin.mjs'));
    await rm(folder, { recursive: true });
  });

  it('refuses a missing manifest, broken YAML, a missing entry and an entry linking outside', async () => {
    const empty = await folderWith({});
    await expect(loadPluginPackage(empty)).rejects.toMatchObject({ code: 'invalid_manifest' });
    const broken = await folderWith({ 'kaiwa-plugin.yaml': 'id: [' });
    await expect(loadPluginPackage(broken)).rejects.toThrow('kaiwa-plugin.yaml is not valid YAML');
    const noEntry = await folderWith({ 'kaiwa-plugin.json': JSON.stringify(minimal) });
    await expect(loadPluginPackage(noEntry)).rejects.toMatchObject({ issues: [{ path: ['entry'] }] });
    const linked = await folderWith({ 'kaiwa-plugin.json': JSON.stringify(minimal) });
    await symlink('/etc/hostname', join(linked, 'plugin.mjs'));
    await expect(loadPluginPackage(linked)).rejects.toThrow('leads outside the plugin folder');
    for (const folder of [empty, broken, noEntry, linked]) await rm(folder, { recursive: true });
  });
});
