import { z } from 'zod';
import { parseInput } from '../validate.js';

/** One setting's value, of the types a plugin manifest's settings schema declares. */
export type PluginSettingValue = string | number | boolean;

/** A plugin's settings as an admin saved them, by the keys of its manifest's `settings`. */
export type PluginSettingValues = Record<string, PluginSettingValue>;

/** What the store keeps of one plugin's settings: the values, when and by whom they were saved. */
export interface StoredPluginSettings {
  pluginId: string;
  values: PluginSettingValues;
  /** ISO 8601, as `Date.prototype.toISOString` writes it. */
  updatedAt: string;
  /** The admin who saved them; `null` for the system (a migration, a script). */
  updatedBy: string | null;
}

/**
 * Plugins' settings as admins saved them, one record per plugin id: `put` replaces the whole record (values not
 * given are gone, so defaults apply again), `get` answers it as it was put. The store does not know manifests:
 * the server checks values against the plugin's settings schema before it puts them. Bad input throws
 * `ValidationError` naming the field (`pluginId`, `values.<key>`, `updatedAt`, `updatedBy`). Implementations:
 * `@kaiwa/plugins`' `createMemoryPluginSettingsStore` (one instance) and `@kaiwa/store-kysely`'s
 * `pluginSettings` (the database every instance shares).
 *
 * @example
 * await settings.put('hello', { greeting: 'Hi' }, { updatedAt: new Date().toISOString(), updatedBy: admin.id });
 * (await settings.get('hello'))?.values; // { greeting: 'Hi' }
 */
export interface PluginSettingsStore {
  /** The plugin's saved settings, or `undefined` when none were saved. */
  get(pluginId: string): Promise<StoredPluginSettings | undefined>;
  /** Saves the plugin's settings, replacing what was saved before; answers the record as stored. */
  put(
    pluginId: string,
    values: PluginSettingValues,
    meta: { updatedAt: string; updatedBy: string | null },
  ): Promise<StoredPluginSettings>;
  /** Forgets the plugin's settings (an uninstall that does not keep its data); nothing happens without any. */
  clear(pluginId: string): Promise<void>;
}

/** Plugins' settings, as a storage module of a store provides them (`@kaiwa/store-kysely`'s `plugins`). */
export interface PluginSettingsStorage {
  pluginSettings: PluginSettingsStore;
}

/** Most settings one plugin may have (a manifest declares far fewer). */
const PLUGIN_SETTINGS_MAX_KEYS = 100;
/** Most characters of one string value (a manifest's `maxLength` is at most 100,000). */
const PLUGIN_SETTING_MAX_LENGTH = 100_000;

const isoInstant = z
  .string()
  .refine(
    (value) => !Number.isNaN(Date.parse(value)) && new Date(value).toISOString() === value,
    'an ISO 8601 UTC time as toISOString() writes it, e.g. 2026-12-07T09:00:00.000Z',
  );

const ValuesSchema = z
  .record(
    z.string().regex(/^[a-zA-Z][a-zA-Z0-9_]{0,63}$/, 'a setting key: a letter, then letters, digits or _'),
    z.union([
      z.string().max(PLUGIN_SETTING_MAX_LENGTH),
      z.number().refine(Number.isFinite, 'a finite number'),
      z.boolean(),
    ]),
  )
  .refine((values) => Object.keys(values).length <= PLUGIN_SETTINGS_MAX_KEYS, {
    message: `at most ${PLUGIN_SETTINGS_MAX_KEYS} settings`,
  });

/**
 * Checks what a {@link PluginSettingsStore} is given, for its implementations.
 *
 * @throws ValidationError naming the field (`pluginId`, `values.<key>`, `updatedAt`, `updatedBy`).
 * @example
 * checkPluginSettingsInput({ pluginId, values, meta: { updatedAt, updatedBy } });
 */
export function checkPluginSettingsInput(input: {
  pluginId: string;
  values?: PluginSettingValues;
  meta?: { updatedAt: string; updatedBy: string | null };
}): void {
  parseInput(z.string().min(1).max(64), input.pluginId, ['pluginId']);
  if ('values' in input) parseInput(ValuesSchema, input.values, ['values']);
  if ('meta' in input) {
    parseInput(isoInstant, input.meta?.updatedAt, ['updatedAt']);
    parseInput(z.string().min(1).max(64).nullable(), input.meta?.updatedBy, ['updatedBy']);
  }
}
