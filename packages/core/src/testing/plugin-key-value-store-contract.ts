import { randomBytes } from 'node:crypto';
import { beforeAll, expect, it } from 'vitest';
import { ValidationError } from '../errors.js';
import {
  type PluginKeyValueStore,
  PluginStorageQuotaError,
  pluginStorageEntryBytes,
} from '../ports/plugin-key-value-store.js';
import type { JsonValue } from '../schemas/common.js';
import {
  describeStoreContract,
  type StoreContractOptions,
  type StoreUnderTest,
} from './store-contract-suite.js';

/** A PluginKeyValueStore under test, with what closes it. */
export type PluginKeyValueStoreUnderTest = StoreUnderTest<PluginKeyValueStore>;

export type PluginKeyValueStoreContractOptions = StoreContractOptions<PluginKeyValueStore>;

/**
 * The conformance suite of `PluginKeyValueStore`: values round-trip as JSON (nested, unicode), plugins are kept
 * apart, `list` filters by prefix and sorts, `usage` counts the UTF-8 bytes of keys and JSON values exactly, a
 * replaced value counts only once, a write over the quota throws `PluginStorageQuotaError` and changes nothing,
 * racing writers (on two instances where the store has a `peer`) never pass the quota together, `clear` removes
 * everything of one plugin, and bad input throws `ValidationError` naming the field.
 *
 * @example
 * pluginKeyValueStoreContract({
 *   name: 'memory',
 *   open: async () => ({ store: createMemoryKeyValueStore(), close: async () => {} }),
 * });
 */
export function pluginKeyValueStoreContract(options: PluginKeyValueStoreContractOptions): void {
  describeStoreContract('PluginKeyValueStore', options, (opened) => {
    let store: PluginKeyValueStore;
    const roomy = { quotaBytes: 1_000_000 };
    // Every test writes under plugin ids of its own, so the tests share one store.
    const newPlugin = () => `p-${randomBytes(6).toString('hex')}`;
    const bytes = (key: string, value: JsonValue) => pluginStorageEntryBytes(key, JSON.stringify(value));

    beforeAll(() => {
      store = opened.store;
    });

    it('round-trips JSON values: nested, unicode, numbers, null and empty ones', async () => {
      const plugin = newPlugin();
      const values: Record<string, JsonValue> = {
        nested: { a: [1, { b: [true, null, 'x'] }], c: { d: { e: {} } }, empty: [] },
        unicode: 'あなたは誠実です 🌸 — "quoted" \\ \n\t\u0001 \u2028',
        number: -12.5e-3,
        big: 9007199254740991,
        zero: 0,
        null: null,
        false: false,
        emptyString: '',
        emptyObject: {},
        emptyArray: [],
      };
      for (const [key, value] of Object.entries(values)) await store.set(plugin, key, value, roomy);
      for (const [key, value] of Object.entries(values))
        expect(await store.get(plugin, key), key).toEqual(value);
      expect(await store.get(plugin, 'missing')).toBeUndefined();
      expect(await store.get(plugin, 'null')).toBeNull();
    });

    it('replaces a value, deletes a key (twice is fine) and keeps plugins apart', async () => {
      const first = newPlugin();
      const second = newPlugin();
      await store.set(first, 'k', 'one', roomy);
      await store.set(second, 'k', 'other', roomy);
      await store.set(first, 'k', { now: 'two' }, roomy);
      expect(await store.get(first, 'k')).toEqual({ now: 'two' });
      expect(await store.get(second, 'k')).toBe('other');
      await store.delete(first, 'k');
      await store.delete(first, 'k');
      await store.delete(first, 'never-set');
      expect(await store.get(first, 'k')).toBeUndefined();
      expect(await store.get(second, 'k')).toBe('other');
      expect(await store.usage(first)).toBe(0);
      expect(await store.list(first)).toEqual([]);
    });

    it('lists keys by prefix, sorted as JavaScript sorts strings, exactly (no wildcards, case kept)', async () => {
      const plugin = newPlugin();
      const keys = [
        'b',
        'a:2',
        'a:10',
        'a:1',
        'A:1',
        'a',
        'a%',
        'a_',
        'a_x',
        'ab',
        'a:é',
        'a:😀',
        'a:\uff61',
        'a ',
      ];
      for (const key of keys) await store.set(plugin, key, 1, roomy);
      await store.set(newPlugin(), 'a:other-plugin', 1, roomy);
      expect(await store.list(plugin)).toEqual([...keys].sort());
      expect(await store.list(plugin, '')).toEqual([...keys].sort());
      expect(await store.list(plugin, 'a:')).toEqual(
        ['a:1', 'a:10', 'a:2', 'a:é', 'a:😀', 'a:\uff61'].sort(),
      );
      expect(await store.list(plugin, 'a_')).toEqual(['a_', 'a_x']);
      expect(await store.list(plugin, 'a%')).toEqual(['a%']);
      expect(await store.list(plugin, 'A')).toEqual(['A:1']);
      expect(await store.list(plugin, 'a:😀')).toEqual(['a:😀']);
      expect(await store.list(plugin, 'zzz')).toEqual([]);
      // A trailing space makes another key (MariaDB's PAD SPACE collations would make it the same one).
      expect(await store.get(plugin, 'a ')).toBe(1);
      await store.set(plugin, 'a ', 2, roomy);
      expect(await store.get(plugin, 'a')).toBe(1);
    });

    it('counts usage as the UTF-8 bytes of keys plus JSON values; a replaced value counts once', async () => {
      const plugin = newPlugin();
      expect(await store.usage(plugin)).toBe(0);
      await store.set(plugin, 'greeted', 3, roomy);
      expect(await store.usage(plugin)).toBe(8);
      await store.set(plugin, 'name:あ', { text: '🌸' }, roomy);
      const expected = 8 + bytes('name:あ', { text: '🌸' });
      expect(await store.usage(plugin)).toBe(expected);
      expect(bytes('name:あ', { text: '🌸' })).toBe(8 + 15);
      await store.set(plugin, 'greeted', 12345, roomy);
      expect(await store.usage(plugin)).toBe(expected + 4);
      await store.delete(plugin, 'name:あ');
      expect(await store.usage(plugin)).toBe(7 + 5);
    });

    it('refuses a write over the quota with PluginStorageQuotaError and changes nothing', async () => {
      const plugin = newPlugin();
      const quota = { quotaBytes: 20 };
      await store.set(plugin, 'k', 'x'.repeat(10), quota); // 1 + 12
      const refused = await store.set(plugin, 'k2', 'x'.repeat(10), quota).catch((error: unknown) => error);
      expect(PluginStorageQuotaError.isInstance(refused)).toBe(true);
      expect(refused).toMatchObject({
        code: 'quota_exceeded',
        pluginId: plugin,
        usageBytes: 27,
        quotaBytes: 20,
      });
      expect(await store.get(plugin, 'k2')).toBeUndefined();
      expect(await store.list(plugin)).toEqual(['k']);
      expect(await store.usage(plugin)).toBe(13);
      // A replacement over the quota leaves the old value.
      await expect(store.set(plugin, 'k', 'y'.repeat(30), quota)).rejects.toMatchObject({
        code: 'quota_exceeded',
      });
      expect(await store.get(plugin, 'k')).toBe('x'.repeat(10));
      expect(await store.usage(plugin)).toBe(13);
      // Replacing counts only the difference: 1 + 19 = 20 fits exactly, though 13 + 20 would not.
      await store.set(plugin, 'k', 'y'.repeat(17), quota);
      expect(await store.usage(plugin)).toBe(20);
      // A write that shrinks the usage is allowed even over a quota lowered since; one that grows it is not.
      await store.set(plugin, 'k', 'z'.repeat(10), { quotaBytes: 5 });
      expect(await store.usage(plugin)).toBe(13);
      await expect(store.set(plugin, 'k', 'z'.repeat(11), { quotaBytes: 5 })).rejects.toMatchObject({
        code: 'quota_exceeded',
      });
      expect(await store.get(plugin, 'k')).toBe('z'.repeat(10));
      // A quota of 0 allows nothing.
      await expect(store.set(newPlugin(), 'a', 1, { quotaBytes: 0 })).rejects.toMatchObject({
        code: 'quota_exceeded',
      });
    });

    it('never lets racing writers pass the quota together', async () => {
      const plugin = newPlugin();
      const other = opened.peer ?? store;
      // Each write is 1 + 100 bytes; the quota holds 5 of them, so 5 of 20 racing writes succeed.
      const quota = { quotaBytes: 5 * 101 + 50 };
      const value = 'v'.repeat(98);
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, (_, index) =>
          (index % 2 === 0 ? store : other).set(plugin, String.fromCharCode(97 + index), value, quota),
        ),
      );
      const rejected = results.filter((result) => result.status === 'rejected');
      for (const result of rejected) {
        expect(PluginStorageQuotaError.isInstance((result as PromiseRejectedResult).reason)).toBe(true);
      }
      expect(results.length - rejected.length).toBe(5);
      expect(await store.usage(plugin)).toBe(5 * 101);
      expect(await other.usage(plugin)).toBe(5 * 101);
      expect(await other.list(plugin)).toHaveLength(5);
    });

    it('clears everything of one plugin, and the plugin can start again from nothing', async () => {
      const plugin = newPlugin();
      const kept = newPlugin();
      await store.set(plugin, 'a', 1, roomy);
      await store.set(plugin, 'b', [2], roomy);
      await store.set(kept, 'a', 'kept', roomy);
      await store.clear(plugin);
      await store.clear(plugin);
      expect(await store.list(plugin)).toEqual([]);
      expect(await store.usage(plugin)).toBe(0);
      expect(await store.get(plugin, 'a')).toBeUndefined();
      expect(await store.get(kept, 'a')).toBe('kept');
      await store.set(plugin, 'a', 'again', { quotaBytes: 8 });
      expect(await store.usage(plugin)).toBe(8);
    });

    it('refuses bad keys, plugin ids, prefixes, quotas and values with ValidationError naming the field', async () => {
      const plugin = newPlugin();
      const refusal = async (work: Promise<unknown>, field: string) => {
        const error = await work.then(
          () => undefined,
          (reason: unknown) => reason,
        );
        expect(error, field).toBeInstanceOf(ValidationError);
        expect((error as ValidationError).issues[0]?.path[0], field).toBe(field);
      };
      await refusal(store.set(plugin, '', 1, roomy), 'key');
      await refusal(store.set(plugin, 'k'.repeat(257), 1, roomy), 'key');
      await refusal(store.set(plugin, 'a\u0000b', 1, roomy), 'key');
      await refusal(store.set(plugin, 'lone\ud800', 1, roomy), 'key');
      await refusal(store.get(plugin, ''), 'key');
      await refusal(store.delete(plugin, ''), 'key');
      await refusal(store.set('', 'k', 1, roomy), 'pluginId');
      await refusal(store.list(plugin, 'p'.repeat(257)), 'prefix');
      await refusal(store.set(plugin, 'k', 1, { quotaBytes: -1 }), 'quotaBytes');
      await refusal(store.set(plugin, 'k', Number.NaN, roomy), 'value');
      await refusal(store.set(plugin, 'k', undefined as unknown as JsonValue, roomy), 'value');
      await refusal(store.set(plugin, 'k', { f: () => 1 } as unknown as JsonValue, roomy), 'value');
      expect(await store.list(plugin)).toEqual([]);
      // The longest key is fine.
      await store.set(plugin, 'k'.repeat(256), true, roomy);
      expect(await store.get(plugin, 'k'.repeat(256))).toBe(true);
    });

    it('keeps a large value whole', async () => {
      const plugin = newPlugin();
      const large = { text: 'あ'.repeat(100_000), list: Array.from({ length: 1000 }, (_, index) => index) };
      await store.set(plugin, 'large', large, roomy);
      expect(await store.get(plugin, 'large')).toEqual(large);
      expect(await store.usage(plugin)).toBe(bytes('large', large));
    });
  });
}
