import { randomBytes } from 'node:crypto';
import { beforeAll, expect, it } from 'vitest';
import { ValidationError } from '../errors.js';
import type { PluginInstallation, PluginInstallationStore } from '../ports/plugin-installation-store.js';
import {
  describeStoreContract,
  type StoreContractOptions,
  type StoreUnderTest,
} from './store-contract-suite.js';

/** A PluginInstallationStore under test, with what closes it. */
export type PluginInstallationStoreUnderTest = StoreUnderTest<PluginInstallationStore>;

export type PluginInstallationStoreContractOptions = StoreContractOptions<PluginInstallationStore>;

/**
 * The conformance suite of `PluginInstallationStore`: an installation is added once (also by racing adds from
 * two instances where the store has a `peer`) and read back as written, updates change only what they name,
 * `list` is by plugin id, `remove` forgets, and bad input throws `ValidationError` naming the field.
 *
 * @example
 * pluginInstallationStoreContract({
 *   name: 'memory',
 *   open: async () => ({ store: createMemoryPluginInstallationStore(), close: async () => {} }),
 * });
 */
export function pluginInstallationStoreContract(options: PluginInstallationStoreContractOptions): void {
  describeStoreContract('PluginInstallationStore', options, (opened) => {
    let store: PluginInstallationStore;
    // Every test installs plugin ids of its own, so the tests share one store.
    const newPlugin = (prefix = 'p') => `${prefix}-${randomBytes(6).toString('hex')}`;
    const at = (minute: number) => new Date(Date.UTC(2026, 11, 7, 9, minute)).toISOString();
    const sha = (fill: string) => fill.repeat(64).slice(0, 64);
    const installation = (pluginId: string, extra: Partial<PluginInstallation> = {}): PluginInstallation => ({
      pluginId,
      version: '1.0.0',
      enabled: true,
      sha256: sha('a'),
      installedAt: at(0),
      updatedAt: at(0),
      ...extra,
    });

    beforeAll(() => {
      store = opened.store;
    });

    it('adds an installation once and reads it back as written', async () => {
      const pluginId = newPlugin();
      expect(await store.get(pluginId)).toBeUndefined();
      const first = installation(pluginId, { version: '1.2.3-beta.1+build.7', sha256: sha('0f') });
      expect(await store.add(first)).toBe(true);
      expect(await store.add(installation(pluginId, { version: '9.9.9' }))).toBe(false);
      expect(await store.get(pluginId)).toEqual(first);
      const byHand = newPlugin();
      expect(await store.add(installation(byHand, { sha256: null, enabled: false }))).toBe(true);
      expect(await store.get(byHand)).toMatchObject({ sha256: null, enabled: false });
    });

    it('lets exactly one of racing adds of one id win, across instances', async () => {
      const pluginId = newPlugin();
      const other = opened.peer ?? store;
      const adds = await Promise.all(
        Array.from({ length: 8 }, (_, index) =>
          (index % 2 === 0 ? store : other).add(installation(pluginId, { version: `1.0.${index}` })),
        ),
      );
      expect(adds.filter(Boolean)).toHaveLength(1);
      expect((await other.get(pluginId))?.version).toBe(`1.0.${adds.indexOf(true)}`);
    });

    it('updates only what a patch names', async () => {
      const pluginId = newPlugin();
      await store.add(installation(pluginId));
      const stopped = await store.update(pluginId, { enabled: false, updatedAt: at(1) });
      expect(stopped).toEqual(installation(pluginId, { enabled: false, updatedAt: at(1) }));
      const upgraded = await store.update(pluginId, { version: '2.0.0', sha256: sha('b'), updatedAt: at(2) });
      expect(upgraded).toEqual(
        installation(pluginId, { version: '2.0.0', sha256: sha('b'), enabled: false, updatedAt: at(2) }),
      );
      expect(await store.get(pluginId)).toEqual(upgraded);
      await store.update(pluginId, { sha256: null, enabled: true, updatedAt: at(3) });
      expect(await store.get(pluginId)).toMatchObject({ sha256: null, enabled: true, version: '2.0.0' });
      expect(await store.update(newPlugin(), { enabled: true, updatedAt: at(4) })).toBeUndefined();
    });

    it('lists installations by plugin id and forgets removed ones', async () => {
      const prefix = `l${randomBytes(3).toString('hex')}`;
      const ids = [newPlugin(`${prefix}-c`), newPlugin(`${prefix}-a`), newPlugin(`${prefix}-b`)];
      for (const id of ids) await store.add(installation(id));
      const listed = (await store.list())
        .map((entry) => entry.pluginId)
        .filter((id) => id.startsWith(prefix));
      expect(listed).toEqual(ids.toSorted());
      expect(await store.remove(ids[1] as string)).toBe(true);
      expect(await store.remove(ids[1] as string)).toBe(false);
      expect(await store.get(ids[1] as string)).toBeUndefined();
      expect((await store.list()).some((entry) => entry.pluginId === ids[1])).toBe(false);
      // A removed id can be installed again.
      expect(await store.add(installation(ids[1] as string, { version: '3.0.0' }))).toBe(true);
    });

    it('throws ValidationError naming the field for bad input', async () => {
      const field = async (work: Promise<unknown>) => {
        const error = await work.then(
          () => undefined,
          (caught: unknown) => caught,
        );
        expect(error).toBeInstanceOf(ValidationError);
        return (error as ValidationError).issues[0]?.path.join('.');
      };
      const pluginId = newPlugin();
      expect(await field(store.add(installation('Not An Id')))).toBe('pluginId');
      expect(await field(store.add(installation(pluginId, { version: '' })))).toBe('version');
      expect(await field(store.add(installation(pluginId, { sha256: 'ABC' })))).toBe('sha256');
      expect(await field(store.add(installation(pluginId, { installedAt: 'yesterday' })))).toBe(
        'installedAt',
      );
      expect(await field(store.update(pluginId, { version: 'x'.repeat(129), updatedAt: at(5) }))).toBe(
        'version',
      );
      expect(await field(store.update('', { enabled: true, updatedAt: at(5) }))).toBe('pluginId');
      expect(await field(store.get('../etc'))).toBe('pluginId');
      // Nothing of the refused calls was written.
      expect(await store.get(pluginId)).toBeUndefined();
    });
  });
}
