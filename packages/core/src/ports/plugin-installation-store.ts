import { z } from 'zod';
import { parseInput } from '../validate.js';

/**
 * A plugin installed on this Kaiwa: the version its folder holds, whether an admin wants it running, and the
 * checksum of the tarball it came from (`null` for a plugin placed in the plugin folder by hand).
 */
export interface PluginInstallation {
  pluginId: string;
  /** Semver, as its manifest says. */
  version: string;
  /** The admin's choice: started (true) or stopped (false); the server honours it at start. */
  enabled: boolean;
  /** SHA-256 (lower-case hex) of the tarball installed, or `null` when it was not installed from one. */
  sha256: string | null;
  /** ISO 8601. */
  installedAt: string;
  /** ISO 8601; the install time until the first change. */
  updatedAt: string;
}

/** What changes on an installation: an upgrade's version and checksum, an admin's start or stop. */
export interface PluginInstallationPatch {
  version?: string;
  sha256?: string | null;
  enabled?: boolean;
  updatedAt: string;
}

/**
 * The installed plugins, kept in the database every instance shares, so an admin's start or stop survives a
 * restart. `add` is insert-once by plugin id: of two instances installing the same id, one gets `true`.
 * Bad input throws `ValidationError` naming the field (`pluginId`, `version`, `sha256`, `installedAt`, …).
 * Implementations: `@kaiwa/plugins`' `createMemoryPluginInstallationStore` (tests, one instance) and
 * `@kaiwa/store-kysely`'s `pluginInstallations`.
 *
 * @example
 * const at = new Date().toISOString();
 * await installations.add({ pluginId: 'hello', version: '1.0.0', enabled: true, sha256, installedAt: at, updatedAt: at });
 * await installations.update('hello', { enabled: false, updatedAt: new Date().toISOString() });
 */
export interface PluginInstallationStore {
  /** Records a new installation: true, or false (nothing changed) when the plugin id is recorded already. */
  add(installation: PluginInstallation): Promise<boolean>;
  /** Changes an installation; the changed one, or `undefined` when the plugin is not recorded. */
  update(pluginId: string, patch: PluginInstallationPatch): Promise<PluginInstallation | undefined>;
  get(pluginId: string): Promise<PluginInstallation | undefined>;
  /** Every installation, by plugin id. */
  list(): Promise<PluginInstallation[]>;
  /** Forgets an installation (uninstalled); true when there was one. */
  remove(pluginId: string): Promise<boolean>;
}

/** The installed plugins, as a storage module of a store provides them (`@kaiwa/store-kysely`'s `plugins`). */
export interface PluginInstallationStorage {
  pluginInstallations: PluginInstallationStore;
}

const isoInstant = z
  .string()
  .refine(
    (value) => !Number.isNaN(Date.parse(value)) && new Date(value).toISOString() === value,
    'an ISO 8601 UTC time as toISOString() writes it, e.g. 2026-12-07T09:00:00.000Z',
  );
const pluginIdSchema = z
  .string()
  .regex(/^[a-z][a-z0-9-]{1,63}$/, 'lower-case letters, digits and dashes, 2 to 64');
// Semver's own grammar is checked by the plugin host; the store keeps what fits its column.
const versionSchema = z.string().min(1).max(128);
const sha256Schema = z
  .string()
  .regex(/^[0-9a-f]{64}$/, '64 lower-case hexadecimal digits')
  .nullable();

const InstallationSchema = z.object({
  pluginId: pluginIdSchema,
  version: versionSchema,
  enabled: z.boolean(),
  sha256: sha256Schema,
  installedAt: isoInstant,
  updatedAt: isoInstant,
});

const PatchSchema = z.object({
  version: versionSchema.optional(),
  sha256: sha256Schema.optional(),
  enabled: z.boolean().optional(),
  updatedAt: isoInstant,
});

/**
 * Checks what a {@link PluginInstallationStore} is given, for its implementations.
 *
 * @throws ValidationError naming the field (`pluginId`, `version`, `sha256`, `enabled`, `installedAt`,
 *   `updatedAt`).
 * @example
 * checkPluginInstallationInput({ pluginId, patch: { enabled: false, updatedAt } });
 */
export function checkPluginInstallationInput(input: {
  installation?: PluginInstallation;
  pluginId?: string;
  patch?: PluginInstallationPatch;
}): void {
  if (input.installation !== undefined) parseInput(InstallationSchema, input.installation);
  if (input.pluginId !== undefined) parseInput(pluginIdSchema, input.pluginId, ['pluginId']);
  if (input.patch !== undefined) parseInput(PatchSchema, input.patch);
}
