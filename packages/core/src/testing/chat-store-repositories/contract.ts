import { afterAll, beforeAll, describe } from 'vitest';
import type { ChatStore } from '../../ports/chat-store.js';
import { type AccountRepositoryTest, accountRepositoryTests } from './accounts.js';
import { type MessageRepositoryTest, messageRepositoryTests } from './messages.js';
import { type ProjectFileRepositoryTest, projectFileRepositoryTests } from './projects-files.js';
import { type RepositorySuiteOptions, repositorySuite } from './support.js';
import { type UserRoomRepositoryTest, userRoomRepositoryTests } from './users-rooms.js';

/** The tests of {@link chatStoreRepositoriesContract}, by the key `skipTests` takes. */
export type ChatStoreRepositoriesContractTest =
  | UserRoomRepositoryTest
  | MessageRepositoryTest
  | ProjectFileRepositoryTest
  | AccountRepositoryTest;

export type ChatStoreRepositoriesContractOptions = RepositorySuiteOptions<ChatStoreRepositoriesContractTest>;

/**
 * The method-level conformance suite of the `ChatStore` repositories: users, rooms, memberships, messages,
 * reactions, search, room events, transactions, projects, tickets, files and accounts, called through the
 * port itself. Where `chatStoreContract` checks what the engine relies on, this one pins each method down:
 * exact round trips (Japanese, emoji, 64 KiB of text), unique keys as ConflictError naming the field,
 * keyset pages, idempotent inserts between concurrent transactions, gap-free sequence numbers in commit
 * order, search in English and Japanese, and rollbacks that leave nothing behind. Every store runs it; a
 * store that cannot pass a test names it in `skipTests` with the reason, and the test shows as skipped.
 *
 * @example
 * chatStoreRepositoriesContract({
 *   name: 'sqlite',
 *   open: () => openTestStore('sqlite'),
 *   skipTests: { 'rooms-sequence-commit-order': 'one connection: transactions never overlap' },
 * });
 */
export function chatStoreRepositoriesContract(options: ChatStoreRepositoriesContractOptions): void {
  const suite = options.skip ? describe.skip : describe;

  suite(`ChatStore repositories contract: ${options.name}${options.skip ? ` (skipped: ${options.skip})` : ''}`, () => {
    let store: ChatStore | undefined;
    beforeAll(async () => {
      store = await options.open();
    });
    afterAll(async () => {
      await store?.close();
    });

    const repositories = repositorySuite<ChatStoreRepositoriesContractTest>(() => {
      if (store === undefined) throw new Error('the store is not open yet');
      return store;
    }, options.skipTests);
    userRoomRepositoryTests(repositories);
    messageRepositoryTests(repositories);
    projectFileRepositoryTests(repositories);
    accountRepositoryTests(repositories);
  });
}
