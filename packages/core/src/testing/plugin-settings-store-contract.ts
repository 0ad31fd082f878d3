import { randomBytes } from 'node:crypto';
import { beforeAll, expect, it } from 'vitest';
import { ValidationError } from '../errors.js';
import type { PluginSettingsStore, PluginSettingValues } from '../ports/plugin-settings-store.js';
import {
  describeStoreContract,
  type StoreContractOptions,
  type StoreUnderTest,
} from './store-contract-suite.js';

/** A PluginSettingsStore under test, with what closes it. */
export type PluginSettingsStoreUnderTest = StoreUnderTest<PluginSettingsStore>;

export type PluginSettingsStoreContractOptions = StoreContractOptions<PluginSettingsStore>;

/**
 * The conformance suite of `PluginSettingsStore`: values of every type come back as they were put (strings with
 * any characters, integers and fractions, `false`), with who saved them and when; a `put` replaces the whole
 * record, plugins are apart, racing saves leave one of them whole, `clear` forgets one plugin, and bad input
 * throws `ValidationError` naming the field without writing anything.
 *
 * @example
 * pluginSettingsStoreContract({
 *   name: 'memory',
 *   open: async () => ({ store: createMemoryPluginSettingsStore(), close: async () => {} }),
 * });
 */
export function pluginSettingsStoreContract(options: PluginSettingsStoreContractOptions): void {
  describeStoreContract('PluginSettingsStore', options, (opened) => {
    let store: PluginSettingsStore;
    // Every test saves under plugin ids of its own, so the tests share one store.
    const newPlugin = () => `p-${randomBytes(6).toString('hex')}`;
    const at = (second: number) => new Date(Date.UTC(2026, 11, 7, 9, 0, second)).toISOString();

    beforeAll(() => {
      store = opened.store;
    });

    it('answers nothing for a plugin without saved settings', async () => {
      expect(await store.get(newPlugin())).toBeUndefined();
    });

    it('keeps values of every type as they were put, with who saved them and when', async () => {
      const pluginId = newPlugin();
      const values: PluginSettingValues = {
        greeting: 'Grüß dich 😀 — "quoted" \\ \u0000 and\nlines',
        empty: '',
        count: 42,
        ratio: -0.125,
        big: 2 ** 52,
        loud: false,
        on: true,
        Mixed_Case1: 'kept apart from mixed_case1',
        mixed_case1: 'kept apart from Mixed_Case1',
      };
      const saved = await store.put(pluginId, values, { updatedAt: at(1), updatedBy: 'admin-1' });
      expect(saved).toEqual({ pluginId, values, updatedAt: at(1), updatedBy: 'admin-1' });
      const read = await (opened.peer ?? store).get(pluginId);
      expect(read).toEqual({ pluginId, values, updatedAt: at(1), updatedBy: 'admin-1' });
      expect(typeof read?.values.count).toBe('number');
      expect(read?.values.loud).toBe(false);
    });

    it('replaces the whole record on put: values left out are gone', async () => {
      const pluginId = newPlugin();
      await store.put(pluginId, { greeting: 'Hi', loud: true }, { updatedAt: at(2), updatedBy: 'admin-1' });
      await store.put(pluginId, { greeting: 'Hey' }, { updatedAt: at(3), updatedBy: null });
      expect(await store.get(pluginId)).toEqual({
        pluginId,
        values: { greeting: 'Hey' },
        updatedAt: at(3),
        updatedBy: null,
      });
      await store.put(pluginId, {}, { updatedAt: at(4), updatedBy: 'admin-2' });
      expect((await store.get(pluginId))?.values).toEqual({});
    });

    it('keeps plugins apart, and clear forgets one', async () => {
      const first = newPlugin();
      const second = newPlugin();
      await store.put(first, { greeting: 'one' }, { updatedAt: at(5), updatedBy: 'a' });
      await store.put(second, { greeting: 'two' }, { updatedAt: at(6), updatedBy: 'b' });
      expect((await store.get(first))?.values).toEqual({ greeting: 'one' });
      await store.clear(first);
      expect(await store.get(first)).toBeUndefined();
      expect((await store.get(second))?.values).toEqual({ greeting: 'two' });
      await store.clear(first);
      // Saved again after a clear, as a fresh install would.
      await store.put(first, { greeting: 'again' }, { updatedAt: at(7), updatedBy: 'a' });
      expect((await store.get(first))?.values).toEqual({ greeting: 'again' });
    });

    it('leaves one of many racing saves whole, across instances', async () => {
      const pluginId = newPlugin();
      const other = opened.peer ?? store;
      const saves = Array.from({ length: 8 }, (_, index) => ({
        values: { who: `writer-${index}`, index, even: index % 2 === 0 },
        meta: { updatedAt: at(10 + index), updatedBy: `admin-${index}` },
      }));
      await Promise.all(
        saves.map((save, index) => (index % 2 === 0 ? store : other).put(pluginId, save.values, save.meta)),
      );
      const read = await store.get(pluginId);
      const winner = saves.find((save) => save.values.who === read?.values.who);
      expect(winner).toBeDefined();
      expect(read).toEqual({ pluginId, values: winner?.values, ...winner?.meta });
    });

    it('throws ValidationError naming the field for bad input, writing nothing', async () => {
      const pluginId = newPlugin();
      const meta = { updatedAt: at(30), updatedBy: 'admin-1' };
      const field = async (work: Promise<unknown>) => {
        const error = await work.then(
          () => undefined,
          (caught: unknown) => caught,
        );
        expect(error).toBeInstanceOf(ValidationError);
        return (error as ValidationError).issues[0]?.path.join('.');
      };
      expect(await field(store.put('', { a: 1 }, meta))).toBe('pluginId');
      expect(await field(store.put('x'.repeat(65), { a: 1 }, meta))).toBe('pluginId');
      expect(await field(store.get(''))).toBe('pluginId');
      expect(await field(store.put(pluginId, { 'not a key': 1 }, meta))).toBe('values.not a key');
      expect(await field(store.put(pluginId, { a: Number.NaN }, meta))).toBe('values.a');
      expect(await field(store.put(pluginId, { a: { nested: true } as never }, meta))).toBe('values.a');
      expect(await field(store.put(pluginId, { a: 'x'.repeat(100_001) }, meta))).toBe('values.a');
      expect(await field(store.put(pluginId, { a: 1 }, { ...meta, updatedAt: 'today' }))).toBe('updatedAt');
      expect(await field(store.put(pluginId, { a: 1 }, { ...meta, updatedBy: '' }))).toBe('updatedBy');
      expect(await store.get(pluginId)).toBeUndefined();
    });
  });
}
