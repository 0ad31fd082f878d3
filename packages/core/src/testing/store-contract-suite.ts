import { afterAll, beforeAll, describe, it } from 'vitest';

/** A store under test, with what closes it. */
export interface StoreUnderTest<Store> {
  store: Store;
  /**
   * A second store on the same data, as another server instance has it (a second connection pool to the same
   * database), for the tests of what two instances do together. Without one, those tests use `store` twice.
   */
  peer?: Store;
  close(): Promise<void>;
}

export interface StoreContractOptions<Store> {
  /** Shown in the test names, e.g. `postgres`. */
  name: string;
  /** Opens a fresh, empty store of its own; `close()` is called at the end. */
  open: () => Promise<StoreUnderTest<Store>>;
  /** When set, the suite is skipped and this reason printed once. */
  skip?: string;
}

/**
 * The frame of a port's conformance suite: `describe('<Port> contract: <name>')` around `tests`, with the store
 * opened before them and closed after (`opened` holds it from then on), or, with `skip`, one skipped test and
 * the reason printed once.
 *
 * @example
 * describeStoreContract('PluginSettingsStore', options, (opened) => {
 *   it('keeps what it is given', async () => expect(await opened.store.get('p')).toBeUndefined());
 * });
 */
export function describeStoreContract<Store>(
  port: string,
  options: StoreContractOptions<Store>,
  tests: (opened: StoreUnderTest<Store>) => void,
): void {
  const title = `${port} contract: ${options.name}`;
  if (options.skip) {
    console.info(`[${options.name}] ${port} suite skipped: ${options.skip}`);
    describe.skip(title, () => {
      it('is skipped', () => {});
    });
    return;
  }
  describe(title, () => {
    const opened = {} as StoreUnderTest<Store>;
    beforeAll(async () => {
      Object.assign(opened, await options.open());
    });
    afterAll(async () => {
      await opened.close?.();
    });
    tests(opened);
  });
}
