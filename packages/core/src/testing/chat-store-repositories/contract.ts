import type { AccountStorage, ChatStorage, ProjectStorage } from '../../ports/chat-store.js';
import { type AccountRepositoryTest, accountRepositoryTests } from './accounts.js';
import { type MessageRepositoryTest, messageRepositoryTests } from './messages.js';
import { type ProjectFileRepositoryTest, projectFileRepositoryTests } from './projects-files.js';
import { type RepositorySuiteOptions, repositoryContract, type StorageUnderTest } from './support.js';
import { type UserRoomRepositoryTest, userRoomRepositoryTests } from './users-rooms.js';

/*
 * One conformance suite per storage module (see `ChatStorage`, `ProjectStorage` and `AccountStorage` in the
 * storage port), each on a store of its own, and `chatStoreRepositoriesContract`, which runs them all.
 */

/** The tests of {@link chatStorageContract}, by the key `skipTests` takes. */
export type ChatStorageContractTest = UserRoomRepositoryTest | MessageRepositoryTest;
/** `open` may return any store with `ChatStorage`: a `ChatStore`, or storage composed of fewer modules. */
export type ChatStorageContractOptions = RepositorySuiteOptions<ChatStorageContractTest, ChatStorage>;

/**
 * The conformance suite of `ChatStorage` — users, rooms, memberships, messages, reactions, search, room
 * events — called method by method through the port: exact round trips (Japanese, emoji, 64 KiB of text),
 * unique keys as ConflictError naming the field, keyset pages, idempotent inserts between concurrent
 * transactions, gap-free sequence numbers in commit order, search in English and Japanese, and
 * transactions that leave nothing behind when they throw.
 *
 * @example
 * chatStorageContract({
 *   name: 'sqlite',
 *   open: () => openTestStore('sqlite'),
 *   skipTests: { 'rooms-sequence-commit-order': 'one connection: transactions never overlap' },
 * });
 */
export function chatStorageContract(options: ChatStorageContractOptions): void {
  repositoryContract('ChatStorage contract', options, (suite) => {
    userRoomRepositoryTests(suite);
    messageRepositoryTests(suite);
  });
}

/** The tests of {@link projectStorageContract}, by the key `skipTests` takes. */
export type ProjectStorageContractTest = ProjectFileRepositoryTest;
export type ProjectStorageContractOptions = RepositorySuiteOptions<
  ProjectStorageContractTest,
  ChatStorage & ProjectStorage
>;

/**
 * The conformance suite of `ProjectStorage`: projects, tickets and file records round-trip, filter, page by
 * id and refuse a taken id.
 *
 * @example
 * projectStorageContract({ name: 'postgres', open: () => openTestStore('postgres') });
 */
export function projectStorageContract(options: ProjectStorageContractOptions): void {
  repositoryContract('ProjectStorage contract', options, projectFileRepositoryTests);
}

/** The tests of {@link accountStorageContract}, by the key `skipTests` takes. */
export type AccountStorageContractTest = AccountRepositoryTest;
export type AccountStorageContractOptions = RepositorySuiteOptions<
  AccountStorageContractTest,
  ChatStorage & AccountStorage
>;

/**
 * The conformance suite of `AccountStorage`: password hashes, refresh tokens (revoked one by one, per
 * family and per user) and API keys.
 *
 * @example
 * accountStorageContract({ name: 'mysql', open: () => openTestStore('mysql') });
 */
export function accountStorageContract(options: AccountStorageContractOptions): void {
  repositoryContract('AccountStorage contract', options, accountRepositoryTests);
}

/** The tests of {@link chatStoreRepositoriesContract}, by the key `skipTests` takes. */
export type ChatStoreRepositoriesContractTest =
  | ChatStorageContractTest
  | ProjectStorageContractTest
  | AccountStorageContractTest;

export type ChatStoreRepositoriesContractOptions = RepositorySuiteOptions<ChatStoreRepositoriesContractTest>;

export type { StorageUnderTest };

/**
 * The method-level conformance suites of every `ChatStore` repository core defines: `chatStorageContract`,
 * `projectStorageContract` and `accountStorageContract`, each on a store of its own. Where
 * `chatStoreContract` checks what the engine relies on, these pin each method down. A store that cannot
 * pass a test names it in `skipTests` with the reason, and the test shows as skipped.
 *
 * @example
 * chatStoreRepositoriesContract({ name: 'sqlite', open: () => openTestStore('sqlite') });
 */
export function chatStoreRepositoriesContract(options: ChatStoreRepositoriesContractOptions): void {
  chatStorageContract(options);
  projectStorageContract(options);
  accountStorageContract(options);
}
